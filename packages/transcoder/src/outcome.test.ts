/**
 * Outcomes against a real redis-server and local storage on disk: what each way an attempt ends
 * leaves in Redis (completed with the next job taken, retried later, dead-lettered, handed back
 * uncounted by a sick transcoder, dropped), the upload removed only once the job completed, and
 * the recording retry.
 */
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { diskFull, PermanentJobError, type StartResult } from '@vpp/shared'
import { queuedJob, takeJob } from '@vpp/shared/testing'
import { describe, expect, it } from 'vitest'
import { newActive } from './active.ts'
import { Outcomes, record } from './outcome.ts'
import { SickState } from './sick-state.ts'
import { logger, useTranscoderFixture } from './test-fixture.ts'

const fixture = useTranscoderFixture()

/** Outcomes on a store of their own, with jobs `ids` queued and the first taken (as `me`). */
async function setUp(ids: string[], env: Record<string, string> = {}) {
  const { store, config, storage, metrics } = await fixture.setting({
    TRANSCODE_PROFILES: '360p,720p',
    RETRY_BASE_MS: '1000',
    MAX_ATTEMPTS: '3',
    ...env,
  })
  await store.group.ensure()
  const sick = new SickState({ config, logger, metrics, probe: async () => null })
  const stopping = new AbortController()
  const killing = new AbortController()
  const outcomes = new Outcomes({
    config,
    store,
    storage,
    metrics,
    sick,
    stopping: stopping.signal,
    killing: killing.signal,
  })
  for (const id of ids) {
    await store.create(queuedJob(id))
    await mkdir(dirname(storage.path(id)), { recursive: true })
    await writeFile(storage.path(id), 'upload')
  }
  const claim = await takeJob(store, 'me')
  const active = newActive(claim.entryId, store.keys.stream, claim.jobId)
  active.claim = claim
  const count = async (metric: { get(): Promise<{ values: Array<{ value: number; labels: object }> }> }) =>
    (await metric.get()).values.reduce((sum, v) => sum + v.value, 0)
  return { store, storage, metrics, sick, outcomes, claim, active, stopping, killing, count }
}

const OUTPUT = {
  profile: '360p',
  path: '/out/360p.mp4',
  width: 640,
  height: 360,
  duration: 1,
  size_bytes: 5,
  bitrate: 40,
  codec: 'h264',
}

describe('Outcomes', () => {
  it('records a completed job, takes the next in the same step, and removes the upload', async () => {
    const t = await setUp(['a', 'b'])
    const begun: Array<[string, string, StartResult]> = []
    await t.outcomes.completed(t.claim, { outputs: [OUTPUT], skipped: [] }, logger, performance.now(), {
      consumer: 'me',
      begin: (entryId, jobId, start) => begun.push([entryId, jobId, start]),
    })
    expect(await t.store.get('a')).toMatchObject({ status: 'completed', outputs: [OUTPUT] })
    expect(begun).toHaveLength(1)
    expect(begun[0]?.[1]).toBe('b')
    expect(begun[0]?.[2]).toMatchObject({ started: true, attempts: 1 })
    expect(await t.store.get('b')).toMatchObject({ status: 'processing' })
    expect(existsSync(t.storage.path('a'))).toBe(false)
    expect(existsSync(t.storage.path('b'))).toBe(true)
    expect(await t.count(t.metrics.processed)).toBe(2) // all, and the 360p rendition
  })

  it('takes no next job when asked for none', async () => {
    const t = await setUp(['a', 'b'])
    const begun: string[] = []
    await t.outcomes.completed(t.claim, { outputs: [OUTPUT], skipped: [] }, logger, performance.now(), {
      consumer: '',
      begin: (_entryId, jobId) => begun.push(jobId),
    })
    expect(begun).toEqual([])
    expect(await t.store.get('b')).toMatchObject({ status: 'queued' })
  })

  it('schedules a retry after a transient failure, and dead-letters at the last attempt', async () => {
    const t = await setUp(['a'])
    await t.outcomes.failed(t.claim, 1, new Error('network blip'), t.active, logger, 10)
    expect(await t.store.get('a')).toMatchObject({ status: 'retrying', error: 'network blip' })
    expect(await t.count(t.metrics.retries)).toBe(1)

    const u = await setUp(['c'])
    await u.outcomes.failed(u.claim, 3, new Error('still broken'), u.active, logger, 10)
    expect(await u.store.get('c')).toMatchObject({ status: 'failed' })
    expect((await u.store.get('c'))?.error).toContain('still broken')
    // Counted whole and as a failure of each rendition it was to make.
    expect(await u.count(u.metrics.processed)).toBe(3)
    expect(await u.store.deadLetters.list(10)).toMatchObject({ total: 1, entries: [{ job_id: 'c' }] })
    expect(existsSync(u.storage.path('c'))).toBe(true) // kept for a retry from the dead-letter queue
  })

  it('dead-letters a permanent failure at once', async () => {
    const t = await setUp(['a'])
    await t.outcomes.failed(
      t.claim,
      1,
      new PermanentJobError('not_a_video', 'not a video'),
      t.active,
      logger,
      10,
    )
    expect(await t.store.get('a')).toMatchObject({ status: 'failed', error_code: 'not_a_video' })
  })

  it('hands the job back uncounted once infrastructure failures make the transcoder sick', async () => {
    const t = await setUp(['a'], { SICK_AFTER_FAILURES: '1' })
    await t.outcomes.failed(t.claim, 1, diskFull('output volume (OUTPUT_DIR)'), t.active, logger, 10)
    expect(t.sick.sick?.reason).toContain('disk full')
    const job = await t.store.get('a')
    expect(job).toMatchObject({ status: 'queued', attempts: 0 })
    expect(await t.count(t.metrics.retries)).toBe(0)
    t.sick.close()
  })

  it('drops a canceled, lost or shut-down attempt, writing nothing', async () => {
    for (const end of ['canceled', 'lost', 'killed'] as const) {
      const t = await setUp(['a'])
      if (end === 'canceled') t.active.canceled = true
      if (end === 'lost') t.active.lost.abort()
      if (end === 'killed') t.killing.abort()
      await t.outcomes.failed(t.claim, 1, new Error('stopped'), t.active, logger, 10)
      expect(await t.store.get('a')).toMatchObject({ status: 'processing', attempts: 1 })
    }
  })

  it('gives up a job taken over past MAX_ATTEMPTS as worker_lost', async () => {
    const t = await setUp(['a'])
    await t.outcomes.gaveUp(t.claim, 4, logger)
    expect(await t.store.get('a')).toMatchObject({
      status: 'failed',
      error_code: 'worker_lost',
      error: 'Gave up after 3 attempts: the transcoder running it stopped before finishing',
    })
  })
})

describe('record', () => {
  it('retries a write while Redis is away, and returns what it said once back', async () => {
    const t = await setUp(['a'])
    await fixture.redis.crash()
    setTimeout(() => void fixture.redis.restart(), 300)
    // The job's record was not persistent: what matters is that the write went through once Redis answered.
    const at = await record(() => t.store.client.set('after-restart', '1'), logger, 50)
    expect(at).toBe('OK')
    expect(await t.store.client.get('after-restart')).toBe('1')
  })

  it('throws when the write keeps failing', async () => {
    let calls = 0
    const failing = async () => {
      calls++
      throw new Error('no')
    }
    await expect(record(failing, logger, 1)).rejects.toThrow('no')
    expect(calls).toBe(13)
  })
})
