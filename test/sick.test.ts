/**
 * A transcoder whose output volume is full stands down instead of dead-lettering the queue: it
 * stops taking jobs, hands back the ones it held uncounted, answers /healthz 503 with the
 * reason and exports video_transcoder_healthy 0; once there is room again its probe passes and
 * every job completes. Real redis-server, real ffmpeg, a real 2 MB tmpfs as OUTPUT_DIR (mounting
 * needs root, or CAP_SYS_ADMIN: skipped with a message when it is not permitted).
 */
import { execFileSync } from 'node:child_process'
import { mkdir, open, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { type Job, type JobEvent, JobSchema } from '@vpp/shared'
import { makeClip, startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, type Pipeline, startPipeline } from './harness.ts'

let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
const pipelines: Pipeline[] = []
let clip = ''
let volume = ''
/** Why the tmpfs could not be mounted ('' when it was). */
let cannotMount = ''

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
  volume = join(dir.path, 'output')
  await mkdir(volume)
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', volume], { stdio: 'pipe' })
  } catch (error) {
    cannotMount = String((error as { stderr?: Buffer }).stderr ?? error).trim()
  }
  clip = await makeClip(join(dir.path, 'clip.mp4'), { width: 320, height: 180, seconds: 1, audio: true })
})

afterAll(async () => {
  try {
    for (const p of pipelines) await p.close()
  } finally {
    // Unmounted whatever happened above: a lazy unmount even if something still holds a file there.
    if (!cannotMount) execFileSync('umount', ['-l', volume])
    await redis?.stop()
    await dir?.remove()
  }
})

/** Fill the volume: 64 KiB writes, then 4 KiB ones, until ENOSPC. */
async function fill(path: string): Promise<void> {
  const file = await open(path, 'w')
  try {
    for (const size of [64 * 1024, 4096]) {
      const chunk = new Uint8Array(size)
      for (;;) {
        const written = await file.write(chunk).catch((error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOSPC') return null
          throw error
        })
        if (!written || written.bytesWritten < size) break
      }
    }
  } finally {
    await file.close()
  }
}

/** A transcoder's /metrics value of the one series of `name` whose labels contain `labels`. */
async function metric(base: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels))
  return Number(line?.split(' ').pop() ?? 0)
}
const healthyGauge = (base: string) => metric(base, 'video_transcoder_healthy')
const completedJobs = (base: string) =>
  metric(base, 'video_jobs_processed_total', 'status="completed",profile="all"')

async function job(p: Pipeline, id: string): Promise<Job> {
  return JobSchema.parse(await (await fetch(`${p.status}/jobs/${id}`)).json())
}

const REASON = 'disk full: No space left on the output volume (OUTPUT_DIR)'
const SICK_RETRY_MS = 500

describe('a transcoder on a full disk', () => {
  it('stands down (503 with the reason, gauge 0, nothing dead-lettered), then completes all 10 jobs once there is room', async (ctx) => {
    if (cannotMount) ctx.skip(`cannot mount a tmpfs here (needs root): ${cannotMount}`)
    const filler = join(volume, 'filler')
    await fill(filler)
    const p = await startPipeline(redis, join(dir.path, 'data'), {
      OUTPUT_DIR: volume,
      TRANSCODE_PROFILES: '360p,thumbnail',
      WORKER_CONCURRENCY: '2',
      SICK_AFTER_FAILURES: '3',
      SICK_RETRY_MS: String(SICK_RETRY_MS),
      RETRY_BASE_MS: '200',
      RETRY_MAX_MS: '1000',
    })
    pipelines.push(p)
    const transcoder = `http://127.0.0.1:${(await p.transcoder({ CONSUMER_NAME: 'full-disk' })).port}`
    expect((await fetch(`${transcoder}/healthz`)).status).toBe(200)
    expect(await healthyGauge(transcoder)).toBe(1)

    const ids: string[] = []
    for (let i = 0; i < 10; i++) ids.push(await p.upload(clip, `clip-${i}.mp4`))

    // Three disk-full failures in a row: it stands down.
    await eventually(async () => (await fetch(`${transcoder}/healthz`)).status === 503, 30_000, 'a 503')
    const answer = await fetch(`${transcoder}/healthz`)
    expect(answer.status).toBe(503)
    const body = (await answer.json()) as { status: string; reason: string; since: string }
    expect(body).toMatchObject({ status: 'unhealthy', reason: REASON })
    expect(Date.parse(body.since)).toBeGreaterThan(0)
    expect(await healthyGauge(transcoder)).toBe(0)

    // Standing down: what it held goes back, and it takes nothing more (probes fail: still full).
    const byStatus = async () => (await p.store.stats.read(new Date())).jobs_by_status
    await eventually(async () => !(await byStatus()).processing, 10_000, 'no job processing')
    const quietFrom = Date.now()
    while (Date.now() - quietFrom < 3 * SICK_RETRY_MS) {
      expect((await byStatus()).processing ?? 0).toBe(0)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect((await fetch(`${transcoder}/healthz`)).status).toBe(503)
    const stats = await p.store.stats.read(new Date())
    expect(stats.dlq_depth).toBe(0)
    expect(stats.jobs_by_status.failed ?? 0).toBe(0)
    expect((stats.jobs_by_status.queued ?? 0) + (stats.jobs_by_status.retrying ?? 0)).toBe(10)
    const jobs = await Promise.all(ids.map((id) => job(p, id)))
    // The two failures before it was sick were counted; what it held then was handed back uncounted.
    expect(jobs.reduce((sum, j) => sum + j.attempts, 0)).toBe(2)
    const handedBack = jobs.filter((j) => j.error_code === 'transcoder_unhealthy')
    expect(handedBack.length).toBeGreaterThan(0)
    for (const j of handedBack) {
      expect(j.status).toBe('queued')
      expect(j.error).toBe(`Returned to the queue uncounted: transcoder full-disk is sick (${REASON})`)
    }
    // Its event says so too.
    const first = handedBack[0] as Job
    const events = (await p.store.events.after('-', 1000)).filter((e: JobEvent) => e.job_id === first.job_id)
    expect(events.at(-1)).toMatchObject({
      type: 'job.queued',
      error_code: 'transcoder_unhealthy',
      error: first.error,
    })
    // The failures before it: retried later (counted), with disk_full's own message.
    const retried = jobs.filter((j) => j.error_code === 'disk_full')
    expect(retried.length).toBeLessThanOrEqual(2)
    for (const j of retried) {
      expect(j).toMatchObject({ status: 'retrying', attempts: 1 })
      expect(j.error).toBe('No space left on the output volume (OUTPUT_DIR)')
    }
    // The rest were never started.
    for (const j of jobs.filter((j) => j.error_code === undefined))
      expect(j).toMatchObject({ status: 'queued', attempts: 0 })

    // Room again: the next probe passes, and every job completes.
    const freedAt = Date.now()
    await rm(filler)
    await eventually(async () => (await fetch(`${transcoder}/healthz`)).status === 200, 10_000, 'a 200')
    expect(Date.now() - freedAt).toBeLessThan(SICK_RETRY_MS + 2000)
    expect(await healthyGauge(transcoder)).toBe(1)
    const done = await Promise.all(ids.map((id) => p.waitFor(id, ['completed', 'failed'], 40_000)))
    expect(done.map((j) => j.status)).toEqual(ids.map(() => 'completed'))
    expect(done.reduce((sum, j) => sum + j.attempts, 0)).toBe(10 + 2)
    expect((await p.store.stats.read(new Date())).dlq_depth).toBe(0)
  })

  it('hands its jobs to a healthy transcoder, which runs them at once (not after CLAIM_IDLE_MS)', async (ctx) => {
    if (cannotMount) ctx.skip(`cannot mount a tmpfs here (needs root): ${cannotMount}`)
    const filler = join(volume, 'filler')
    await fill(filler)
    const p = await startPipeline(redis, join(dir.path, 'data'), {
      TRANSCODE_PROFILES: '360p,thumbnail',
      SICK_RETRY_MS: '60000',
      // Far off: a job handed back is queued again, not left pending for XAUTOCLAIM.
      CLAIM_IDLE_MS: '60000',
      RETRY_BASE_MS: '200',
      RETRY_MAX_MS: '1000',
    })
    pipelines.push(p)
    const sickPort = (
      await p.transcoder({ CONSUMER_NAME: 'sick', OUTPUT_DIR: volume, WORKER_CONCURRENCY: '2' })
    ).port
    const sick = `http://127.0.0.1:${sickPort}`
    const ids: string[] = []
    for (let i = 0; i < 3; i++) ids.push(await p.upload(clip, `first-${i}.mp4`))
    await eventually(
      async () => (await fetch(`${sick}/healthz`)).status === 503,
      30_000,
      'the sick one to stand down',
    )
    await eventually(
      async () => (await p.store.get(ids[2] ?? ''))?.status !== 'processing',
      10_000,
      'the hand-back',
    )

    const startedAt = Date.now()
    const healthy = `http://127.0.0.1:${(await p.transcoder({ CONSUMER_NAME: 'healthy', OUTPUT_DIR: join(dir.path, 'healthy') })).port}`
    for (let i = 0; i < 7; i++) ids.push(await p.upload(clip, `then-${i}.mp4`))
    const done = await Promise.all(ids.map((id) => p.waitFor(id, ['completed', 'failed'], 30_000)))
    expect(done.map((j) => j.status)).toEqual(ids.map(() => 'completed'))
    expect(Date.now() - startedAt).toBeLessThan(15_000)
    // One attempt each that succeeded, and the two failures that made the other one sick.
    expect(done.reduce((sum, j) => sum + j.attempts, 0)).toBe(10 + 2)
    expect(await completedJobs(healthy)).toBe(10)
    expect(await completedJobs(sick)).toBe(0)
    expect((await fetch(`${sick}/healthz`)).status).toBe(503) // still full, still standing down
    expect(await healthyGauge(sick)).toBe(0)
    expect(await healthyGauge(healthy)).toBe(1)
    expect((await p.store.stats.read(new Date())).dlq_depth).toBe(0)
    await rm(filler)
  })
})
