/**
 * Stopping a transcoder (SIGTERM -> close): running jobs finish within SHUTDOWN_GRACE_MS; past
 * it, ffmpeg is killed and the entry is left unacknowledged for another transcoder to claim.
 */
import { readdir } from 'node:fs/promises'
import { makeClip, startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { eventually, type Pipeline, processesMatching, startPipeline } from './harness.ts'

let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let clip: string
let pipeline: Pipeline | undefined

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
  clip = await makeClip(`${dir.path}/long.mp4`, { width: 1280, height: 720, seconds: 6, audio: true })
})
afterEach(async () => {
  await pipeline?.close()
  pipeline = undefined
})
afterAll(async () => {
  await redis?.stop()
  await dir?.remove()
})

describe('transcoder shutdown', () => {
  it('lets a running job finish within the grace period', async () => {
    pipeline = await startPipeline(redis, `${dir.path}/a`, { WORKER_CONCURRENCY: '1' })
    const transcoder = await pipeline.transcoder({ SHUTDOWN_GRACE_MS: '60000' })
    const id = await pipeline.upload(clip)
    await pipeline.waitFor(id, ['processing'])
    await transcoder.close()
    // close() returned only once the job was done: completed on its first attempt.
    expect(await pipeline.store.get(id)).toMatchObject({ status: 'completed', attempts: 1 })
    expect(
      (await pipeline.store.client.xPending(pipeline.store.keys.stream, pipeline.store.keys.group)).pending,
    ).toBe(0)
  })

  it('past the grace, kills ffmpeg and leaves the job to the next transcoder', async () => {
    pipeline = await startPipeline(redis, `${dir.path}/b`, { WORKER_CONCURRENCY: '1', CLAIM_IDLE_MS: '1000' })
    const first = await pipeline.transcoder({ CONSUMER_NAME: 'first', SHUTDOWN_GRACE_MS: '0' })
    const id = await pipeline.upload(clip)
    await pipeline.waitFor(id, ['processing'])
    await eventually(() => processesMatching(`ffmpeg.*${id}`).length > 0, 30_000, 'ffmpeg to start')

    await first.close()
    await first.close() // twice is harmless

    expect(processesMatching(`ffmpeg.*${id}`)).toEqual([])
    // Not acknowledged, not requeued: still processing, pending under the stopped consumer.
    expect(await pipeline.store.get(id)).toMatchObject({ status: 'processing', attempts: 1, outputs: [] })
    const { stream, group } = pipeline.store.keys
    expect(await pipeline.store.client.xPendingRange(stream, group, '-', '+', 10)).toMatchObject([
      { consumer: 'first' },
    ])
    expect(await readdir(`${dir.path}/b/output/${id}`).catch(() => [])).toEqual([]) // temp files removed

    await pipeline.transcoder({ CONSUMER_NAME: 'second' })
    const done = await pipeline.waitFor(id, ['completed', 'failed'])
    expect(done).toMatchObject({ status: 'completed', attempts: 2 })
    expect(done.outputs.map((o) => o.profile)).toEqual([
      '720p',
      '480p',
      '360p',
      'thumbnail',
      'webm_720p',
      'hls',
      'storyboard',
    ])
    expect(await pipeline.store.client.xLen(stream)).toBe(0)
  })
})
