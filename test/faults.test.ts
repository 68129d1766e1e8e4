/**
 * Fault tests: real redis-server, real ffmpeg, real processes. The promise under test: every job
 * that got a 202 ends `completed` or dead-lettered with a readable reason, with one set of
 * outputs, whatever crashes in between.
 */
import { existsSync } from 'node:fs'
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises'
import { DlqListSchema, type Job } from '@vpp/shared'
import { MP4_HEAD, makeClip, probeFile, startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { eventually, type Pipeline, processesMatching, startPipeline } from './harness.ts'

let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let pipeline: Pipeline | undefined
const clips = { long: '', short: '', poison: '', soak: '' }

beforeAll(async () => {
  redis = await startTestRedis({ persistent: true })
  dir = await tempDir()
  ;[clips.long, clips.short] = await Promise.all([
    makeClip(`${dir.path}/long.mp4`, { width: 1280, height: 720, seconds: 6, audio: true }),
    makeClip(`${dir.path}/short.mp4`, { width: 320, height: 180, seconds: 1, audio: false }),
  ])
  // Long enough a job that the soak's kills land while jobs run.
  clips.soak = await makeClip(`${dir.path}/soak.mp4`, { width: 640, height: 360, seconds: 3, audio: true })
  clips.poison = `${dir.path}/poison.mp4`
  // Starts like an MP4 (passes the upload's content check), then noise.
  const noise = Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 7919) % 256))
  await writeFile(clips.poison, Buffer.concat([MP4_HEAD, noise]))
})
afterEach(async () => {
  await pipeline?.close()
  pipeline = undefined
})
afterAll(async () => {
  await redis?.stop()
  await dir?.remove()
})

const FINAL = ['completed', 'failed'] as const
const pendingCount = async (p: Pipeline) =>
  (await p.store.client.xPending(p.store.keys.stream, p.store.keys.group)).pending

async function dlq(p: Pipeline) {
  return DlqListSchema.parse(await (await fetch(`${p.status}/dlq?limit=1000`)).json())
}

/** What ffprobe says of each output file (not what the job record says): profile -> description. */
async function probeOutputs(job: Job) {
  const found: Record<string, string> = {}
  for (const output of job.outputs.filter((o) => o.profile !== 'hls' && o.profile !== 'storyboard')) {
    const { streams } = await probeFile(output.path)
    found[output.profile] = streams
      .map((s) => (s.codec_type === 'video' ? `${s.codec_name} ${s.width}x${s.height}` : s.codec_name))
      .join(' + ')
  }
  return found
}

describe('fault tests', () => {
  it('1. a transcoder SIGKILLed mid-transcode: another claims the job and completes it once', async () => {
    pipeline = await startPipeline(redis, `${dir.path}/f1`, {
      CLAIM_IDLE_MS: '1500',
      WORKER_CONCURRENCY: '1',
    })
    const victim = pipeline.childTranscoder({ CONSUMER_NAME: 'victim' })
    const id = await pipeline.upload(clips.long)
    await pipeline.waitFor(id, ['processing'], 60_000)
    await eventually(() => processesMatching(`ffmpeg.*${id}`).length > 0, 30_000, 'ffmpeg to start')

    await victim.kill('SIGKILL')
    // The kernel takes its ffmpeg down with it (no orphan encoding for nobody).
    await eventually(() => processesMatching(`ffmpeg.*${id}`).length === 0, 5000, 'orphaned ffmpeg to die')
    expect(await pipeline.store.get(id)).toMatchObject({ status: 'processing', attempts: 1 })

    await pipeline.transcoder({ CONSUMER_NAME: 'rescuer' })
    const job = await pipeline.waitFor(id, [...FINAL])
    expect(job).toMatchObject({ status: 'completed', attempts: 2 })
    expect(await probeOutputs(job)).toEqual({
      '720p': 'h264 1280x720 + aac',
      '480p': 'h264 854x480 + aac',
      '360p': 'h264 640x360 + aac',
      thumbnail: 'mjpeg 320x180',
      webm_720p: 'vp9 1280x720 + opus',
    })
    expect(await pendingCount(pipeline)).toBe(0)
    expect(await pipeline.store.client.xLen(pipeline.store.keys.stream)).toBe(0)
    // Published once: the counters saw exactly one completion.
    expect(await pipeline.store.stats.read(new Date())).toMatchObject({
      total_jobs: 1,
      jobs_by_status: { completed: 1 },
      dlq_depth: 0,
    })
    expect((await readdir(`${dir.path}/f1/output/${id}`)).sort()).toEqual([
      '360p.mp4',
      '480p.mp4',
      '720p.mp4',
      'hls',
      'storyboard.jpg',
      'storyboard.vtt',
      'thumbnail.jpg',
      'webm_720p.webm',
    ])
  })

  it('2. a job longer than CLAIM_IDLE_MS on a live worker is not taken over', async () => {
    pipeline = await startPipeline(redis, `${dir.path}/f2`, {
      CLAIM_IDLE_MS: '1000',
      WORKER_CONCURRENCY: '1',
    })
    await pipeline.transcoder({ CONSUMER_NAME: 'a' })
    await pipeline.transcoder({ CONSUMER_NAME: 'b' })
    const id = await pipeline.upload(clips.long)
    const job = await pipeline.waitFor(id, [...FINAL])
    // Several seconds of work against a 1 s idle limit: a takeover would show as attempt 2.
    expect(job).toMatchObject({ status: 'completed', attempts: 1 })
    expect(await pendingCount(pipeline)).toBe(0)
  })

  it('3. a poison file is dead-lettered at once, the worker goes on, and a DLQ retry behaves', async () => {
    pipeline = await startPipeline(redis, `${dir.path}/f3`, { RETRY_BASE_MS: '50' })
    await pipeline.transcoder()
    const poison = await pipeline.upload(clips.poison, 'holiday.mp4')
    const failed = await pipeline.waitFor(poison, [...FINAL])
    expect(failed).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: expect.stringMatching(/^Input is not a readable video file/),
    })

    const next = await pipeline.upload(clips.short)
    expect(await pipeline.waitFor(next, [...FINAL])).toMatchObject({ status: 'completed' })

    const [entry] = (await dlq(pipeline)).entries
    expect(entry).toMatchObject({ job_id: poison, filename: 'holiday.mp4', attempts: 1, error: failed.error })
    const retry = await fetch(`${pipeline.status}/dlq/${entry?.message_id}/retry`, { method: 'POST' })
    expect(retry.status).toBe(202)
    expect(
      (await fetch(`${pipeline.status}/dlq/${entry?.message_id}/retry`, { method: 'POST' })).status,
    ).toBe(404)
    // Replayed once, it fails again, permanently: one new entry, never two.
    await eventually(
      async () =>
        (await dlq(pipeline as Pipeline)).total === 1 &&
        (await pipeline?.store.get(poison))?.status === 'failed',
      60_000,
      'the replay to fail again',
    )
    const again = await dlq(pipeline)
    expect(again.entries).toHaveLength(1)
    expect(again.entries[0]?.message_id).not.toBe(entry?.message_id)
    expect(await pipeline.store.get(poison)).toMatchObject({ status: 'failed', attempts: 1 })

    // Discarded for good: the upload kept for a retry goes too (removed by the transcoder).
    const upload = `${dir.path}/f3/uploads/${poison}`
    expect(existsSync(upload)).toBe(true)
    const discard = await fetch(`${pipeline.status}/dlq/${again.entries[0]?.message_id}`, {
      method: 'DELETE',
    })
    expect(discard.status).toBe(204)
    await eventually(() => !existsSync(upload), 15_000, 'the discarded upload to be removed')
    expect(await pipeline.store.get(poison)).toMatchObject({ status: 'failed' })
  })

  it('4. ffmpeg past its timeout is killed, retried with backoff, and dead-lettered after MAX_ATTEMPTS', async () => {
    pipeline = await startPipeline(redis, `${dir.path}/f4`, {
      FFMPEG_TIMEOUT: '1',
      MAX_ATTEMPTS: '3',
      RETRY_BASE_MS: '300',
    })
    await pipeline.transcoder()
    const id = await pipeline.upload(clips.long)
    const retrying = await pipeline.waitFor(id, ['retrying'], 60_000)
    expect(retrying).toMatchObject({ attempts: 1, error: 'FFmpeg timeout: ffmpeg ran longer than 1s' })
    expect(Date.parse(retrying.next_attempt_at ?? '')).toBeGreaterThan(Date.parse(retrying.updated_at))

    const job = await pipeline.waitFor(id, [...FINAL], 60_000)
    expect(job).toMatchObject({
      status: 'failed',
      attempts: 3,
      error: 'FFmpeg timeout: ffmpeg ran longer than 1s (gave up after 3 attempts)',
      outputs: [],
    })
    expect((await dlq(pipeline)).entries).toMatchObject([{ job_id: id, attempts: 3, error: job.error }])
    expect(processesMatching(`ffmpeg.*${id}`)).toEqual([])
    // No temporary file left: no job directory, nothing of the job in the work area.
    expect(existsSync(`${dir.path}/f4/output/${id}`)).toBe(false)
    expect((await readdir(`${dir.path}/f4/output/.work`)).filter((n) => n.startsWith(id))).toEqual([])
  })

  it('5. Redis SIGKILLed and restarted from its append-only file: every accepted job still ends', async () => {
    pipeline = await startPipeline(redis, `${dir.path}/f5`, {
      CLAIM_IDLE_MS: '2000',
      WORKER_CONCURRENCY: '2',
    })
    await pipeline.transcoder()
    const ids: string[] = []
    for (let i = 0; i < 6; i++)
      ids.push(await pipeline.upload(i % 3 === 0 ? clips.long : clips.short, `clip-${i}.mp4`))
    await eventually(
      async () => (await pipeline?.store.stats.read(new Date()))?.jobs_by_status.processing === 2,
      30_000,
      'two jobs running',
    )

    await redis.crash()
    // While Redis is down, an upload is refused with 503 and its file is not kept.
    const refused = await pipeline.uploadResponse(clips.short)
    expect(refused.status).toBe(503)
    expect((await refused.json()).error).toBe('unavailable')
    await new Promise((resolve) => setTimeout(resolve, 1000))
    await redis.restart()

    for (const id of ids)
      expect((await pipeline.waitFor(id, [...FINAL], 120_000)).status, id).toBe('completed')
    const stats = await pipeline.store.stats.read(new Date())
    expect(stats).toMatchObject({
      total_jobs: 6,
      jobs_by_status: { completed: 6 },
      queue_depth: 0,
      dlq_depth: 0,
    })
    expect(await pendingCount(pipeline)).toBe(0)
    // Completed jobs' uploads are removed, and the refused upload left nothing behind.
    expect(await readdir(`${dir.path}/f5/uploads`)).toEqual([])
  })

  it('6. soak: 60 jobs over two transcoder processes, one killed and restarted every 3 s', async () => {
    pipeline = await startPipeline(redis, `${dir.path}/f6`, {
      CLAIM_IDLE_MS: '1500',
      WORKER_CONCURRENCY: '2',
      TRANSCODE_PROFILES: '360p,thumbnail',
      MAX_ATTEMPTS: '5',
    })
    const steady = pipeline.childTranscoder({ CONSUMER_NAME: 'steady' })
    let victim = pipeline.childTranscoder({ CONSUMER_NAME: 'victim-0' })
    const ids: string[] = []
    for (let i = 0; i < 60; i++) ids.push(await pipeline.upload(clips.soak, `soak-${i}.mp4`))

    let kills = 0
    const deadline = Date.now() + 240_000
    for (;;) {
      const stats = await pipeline.store.stats.read(new Date())
      const done = (stats.jobs_by_status.completed ?? 0) + (stats.jobs_by_status.failed ?? 0)
      if (done === ids.length) break
      if (Date.now() > deadline) throw new Error(`soak stuck: ${JSON.stringify(stats)}\n${steady.stderr()}`)
      await new Promise((resolve) => setTimeout(resolve, 3000))
      await victim.kill('SIGKILL')
      kills++
      victim = pipeline.childTranscoder({ CONSUMER_NAME: `victim-${kills}` })
    }
    expect(kills).toBeGreaterThanOrEqual(3)

    const jobs = await Promise.all(ids.map((id) => pipeline?.store.get(id)))
    const completed = jobs.filter((j) => j?.status === 'completed')
    const failed = jobs.filter((j) => j?.status === 'failed')
    expect(completed.length + failed.length).toBe(60) // none missing
    for (const job of failed) expect(job?.error).toMatch(/Gave up after/) // only repeated kills may dead-letter
    // None twice: each finish moved the counters exactly once.
    const stats = await pipeline.store.stats.read(new Date())
    expect(stats).toMatchObject({ total_jobs: 60, queue_depth: 0, dlq_depth: failed.length })
    expect(stats.jobs_by_status).toEqual(
      failed.length ? { completed: completed.length, failed: failed.length } : { completed: 60 },
    )
    expect(await pipeline.store.client.zCard(pipeline.store.keys.finished)).toBe(60)
    expect(await pendingCount(pipeline)).toBe(0)
    for (const job of completed) {
      // A 320x180 source is below 360p: one rendition at its own size, and the thumbnail.
      expect(job?.outputs.map((o) => o.profile)).toEqual(['360p', 'thumbnail'])
      expect(await readdir(`${dir.path}/f6/output/${job?.job_id}`)).toEqual(['360p.mp4', 'thumbnail.jpg'])
    }
    const takenOver = completed.filter((j) => (j?.attempts ?? 0) > 1).length
    console.log(
      `soak: 60 jobs, ${kills} kills, ${takenOver} taken over, ${completed.length} completed, ${failed.length} dead-lettered`,
    )
  }, 240_000) // its own deadline; ~45 s on 2 idle cores, more when the machine is busy

  it('7. an ingest killed mid-upload leaves a .part file: the next ingest to start removes it', async () => {
    const uploads = `${dir.path}/f7/uploads`
    await mkdir(uploads, { recursive: true })
    const stale = `${uploads}/dead-job.0b3c5f0e.part`
    const fresh = `${uploads}/live-job.4d8a9a4e.part` // another replica's upload in progress
    await writeFile(stale, MP4_HEAD)
    await writeFile(fresh, MP4_HEAD)
    const hourAgo = new Date(Date.now() - 3600_000)
    await utimes(stale, hourAgo, hourAgo)
    pipeline = await startPipeline(redis, `${dir.path}/f7`)
    expect(existsSync(stale)).toBe(false)
    expect(existsSync(fresh)).toBe(true)
  })
})
