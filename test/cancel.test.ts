/**
 * Cancel: a job stops wherever it is. Real redis-server, real ffmpeg, the job running on a
 * transcoder child process.
 */
import { existsSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { makeClip, startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, type Pipeline, processesMatching, startPipeline } from './harness.ts'

let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let pipeline: Pipeline
const clips = { long: '', short: '' }

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
  ;[clips.long, clips.short] = await Promise.all([
    makeClip(`${dir.path}/long.mp4`, { width: 1280, height: 720, seconds: 20, audio: true }),
    makeClip(`${dir.path}/short.mp4`, { width: 320, height: 180, seconds: 1, audio: false }),
  ])
  pipeline = await startPipeline(redis, `${dir.path}/data`, { WORKER_CONCURRENCY: '1' })
})
afterAll(async () => {
  await pipeline?.close()
  await redis?.stop()
  await dir?.remove()
})

const cancel = (id: string) => fetch(`${pipeline.status}/jobs/${id}/cancel`, { method: 'POST' })

describe('POST /jobs/{id}/cancel', () => {
  it('stops a job mid-transcode on another transcoder process within 2 s, publishing nothing', async () => {
    const second = pipeline.childTranscoder({ CONSUMER_NAME: 'second' })
    const id = await pipeline.upload(clips.long)
    await eventually(() => processesMatching(`ffmpeg.*${id}`).length > 0, 30_000, 'ffmpeg to start')
    await pipeline.transcoder({ CONSUMER_NAME: 'first' })

    const asked = Date.now()
    const res = await cancel(id)
    expect(res.status).toBe(202)
    expect(await res.json()).toEqual({ job_id: id, status: 'canceled' })
    await eventually(() => processesMatching(`ffmpeg.*${id}`).length === 0, 2000, 'its ffmpeg to be killed')
    expect(Date.now() - asked).toBeLessThan(2000)

    expect(await pipeline.waitFor(id, ['canceled'], 5000)).toMatchObject({ status: 'canceled', outputs: [] })
    await new Promise((resolve) => setTimeout(resolve, 500)) // what a late write would do, it would have done
    expect(await pipeline.store.get(id)).toMatchObject({ status: 'canceled', outputs: [] })
    expect(existsSync(`${dir.path}/data/output/${id}`)).toBe(false)
    expect((await readdir(`${dir.path}/data/output/.work`)).filter((n) => n.startsWith(id))).toEqual([])
    const { stream, group } = pipeline.store.keys
    expect((await pipeline.store.client.xPending(stream, group)).pending).toBe(0)
    expect(await pipeline.store.client.xLen(pipeline.store.keys.dlq)).toBe(0)
    expect((await pipeline.store.stats.read(new Date())).jobs_by_status).toMatchObject({ canceled: 1 })

    // Both transcoders keep serving.
    expect(second.process.exitCode).toBeNull()
    const next = await Promise.all([pipeline.upload(clips.short), pipeline.upload(clips.short)])
    for (const job of next)
      expect(await pipeline.waitFor(job, ['completed', 'failed'])).toMatchObject({ status: 'completed' })
  })

  it('answers 409 for a finished job and 404 for none', async () => {
    const done = await pipeline.upload(clips.short)
    await pipeline.waitFor(done, ['completed'])
    const refused = await cancel(done)
    expect(refused.status).toBe(409)
    expect(await refused.json()).toMatchObject({ error: 'job_finished' })
    expect(await pipeline.store.get(done)).toMatchObject({ status: 'completed' })
    expect((await cancel('no-such-job')).status).toBe(404)
  })
})
