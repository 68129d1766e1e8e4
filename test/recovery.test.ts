/**
 * Recovery under a backlog: a dead transcoder's job must not wait for the whole queue. Real
 * redis-server, real ffmpeg, the victim a child process killed with SIGKILL.
 */
import { makeClip, startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, type Pipeline, startPipeline } from './harness.ts'

let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let pipeline: Pipeline | undefined
const clips = { long: '', short: '' }

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
  ;[clips.long, clips.short] = await Promise.all([
    makeClip(`${dir.path}/long.mp4`, { width: 1280, height: 720, seconds: 12, audio: true }),
    makeClip(`${dir.path}/short.mp4`, { width: 320, height: 180, seconds: 2, audio: true }),
  ])
})
afterAll(async () => {
  await pipeline?.close()
  await redis?.stop()
  await dir?.remove()
})

const CLAIM_IDLE_MS = 3000

describe('recovery under a backlog', () => {
  it("runs a SIGKILLed transcoder's job again within CLAIM_IDLE_MS + 3 s, ahead of the queued backlog", async () => {
    pipeline = await startPipeline(redis, `${dir.path}/data`, {
      CLAIM_IDLE_MS: String(CLAIM_IDLE_MS),
      WORKER_CONCURRENCY: '1',
      TRANSCODE_PROFILES: '360p',
    })
    const p = pipeline
    // The victim makes every rendition of a 12 s 720p clip: busy for a long while.
    const victim = p.childTranscoder({
      CONSUMER_NAME: 'victim',
      TRANSCODE_PROFILES: '720p,480p,360p,webm_720p',
    })
    const long = await p.upload(clips.long)
    await eventually(
      async () => (await p.store.get(long))?.status === 'processing',
      30_000,
      'the victim to start the long job',
    )
    const shorts: string[] = []
    for (let i = 0; i < 40; i++) shorts.push(await p.upload(clips.short, `short-${i}.mp4`))
    await p.transcoder({ CONSUMER_NAME: 'survivor' })
    await p.waitFor(shorts[0] ?? '', ['completed'], 30_000) // the survivor works through the backlog

    const killedAt = Date.now()
    await victim.kill('SIGKILL')
    let again = await p.store.get(long)
    let queuedThen = -1
    await eventually(
      async () => {
        again = await p.store.get(long)
        if (again?.status !== 'processing' || again.attempts !== 2) return false
        queuedThen = (await p.store.stats.read(new Date())).queue_depth
        return true
      },
      CLAIM_IDLE_MS + 30_000,
      'the long job to run again',
    )
    // Timed from the job's own record: start_job stamps updated_at when it starts it again.
    const delay = Date.parse(again?.updated_at ?? '') - killedAt
    expect(delay).toBeLessThanOrEqual(CLAIM_IDLE_MS + 3000)
    expect(queuedThen).toBeGreaterThan(0) // the backlog was still waiting
    expect(await p.waitFor(long, ['completed', 'failed'], 60_000)).toMatchObject({
      status: 'completed',
      attempts: 2,
    })
  })
})
