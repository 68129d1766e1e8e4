import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Job } from '../api/job.ts'
import { createLogger } from '../logger.ts'
import { closeRedis, connectRedis, type RedisClient } from '../redis/redis.ts'
import { redisKeys } from '../redis/redis-keys.ts'
import { markPlayable } from '../testing/jobs.ts'
import { startTestRedis, type TestRedis } from '../testing/redis.ts'
import type { Claim } from './job-hash.ts'
import { JobStore, type JobStoreOptions } from './job-store.ts'
import { isLuaError, LUA_ERRORS, STORE_SCRIPTS, withIncludes } from './lua/index.ts'

let redis: TestRedis
let client: RedisClient

beforeAll(async () => {
  redis = await startTestRedis()
  client = await connectRedis(redis.url, createLogger({ service: 'test', level: 'silent' }))
})
afterAll(async () => {
  await closeRedis(client)
  await redis.stop()
})

const T0 = new Date('2026-01-01T00:00:00Z')
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000)

function newJob(id: string): Job {
  return {
    job_id: id,
    filename: 'clip.mp4',
    source: 'upload',
    status: 'queued',
    created_at: T0.toISOString(),
    updated_at: T0.toISOString(),
    attempts: 0,
    outputs: [],
  }
}

async function freshStore(options: JobStoreOptions = {}) {
  const store = new JobStore(client, redisKeys(redis.prefix()), options)
  await store.group.ensure()
  await store.group.ensure() // a second call (another service starting) is harmless
  return store
}

type Entry = { id: string; message: Record<string, string> }

async function read(store: JobStore, consumer = 'c1'): Promise<Entry> {
  const reply = (await client.xReadGroup(
    store.keys.group,
    consumer,
    { key: store.keys.stream, id: '>' },
    { COUNT: 1 },
  )) as Array<{
    messages: Entry[]
  }> | null
  const entry = reply?.[0]?.messages[0]
  if (!entry) throw new Error('no entry')
  return entry
}

/** Read the next entry and start its job as `consumer`. */
async function take(store: JobStore, consumer = 'c1', second = 1): Promise<Claim> {
  const entry = await read(store, consumer)
  const started = await store.start(entry.message.job_id ?? '', entry.id, consumer, at(second))
  if (!started.started) throw new Error(`not started: ${started.status}`)
  return started.claim
}

const pending = async (store: JobStore) =>
  (await client.xPending(store.keys.stream, store.keys.group)).pending
const outputs = [
  {
    profile: '720p',
    path: '/o/a/720p.mp4',
    width: 1280,
    height: 720,
    duration: 2,
    size_bytes: 10,
    bitrate: 40,
    codec: 'h264',
  },
]

describe('JobStore: the happy path', () => {
  it('stores a job and queues exactly one stream entry for it', async () => {
    const store = await freshStore()
    await store.create(newJob('job-1'))
    expect(await store.get('job-1')).toEqual(newJob('job-1'))
    expect(await store.get('missing')).toBeNull()
    await expect(store.create(newJob('job-1'))).rejects.toThrow(/exists/)
    expect((await read(store)).message).toEqual({ job_id: 'job-1' })
  })

  it('walks queued -> processing -> completed, settling the entry and counting', async () => {
    const store = await freshStore()
    await store.create(newJob('a'))
    expect(await store.stats.read(at(0))).toMatchObject({
      queue_depth: 1,
      total_jobs: 1,
      jobs_by_status: { queued: 1 },
    })

    const claim = await take(store)
    expect(claim.lease).toBe(1)
    expect(await store.get('a')).toMatchObject({
      status: 'processing',
      attempts: 1,
      updated_at: at(1).toISOString(),
    })
    expect(await store.stats.read(at(1))).toMatchObject({ queue_depth: 0, jobs_by_status: { processing: 1 } })

    expect(await store.finish(claim, { status: 'completed', outputs }, at(2))).toBe(true)
    expect(await store.get('a')).toMatchObject({
      status: 'completed',
      outputs,
      updated_at: at(2).toISOString(),
    })
    expect(await client.xLen(store.keys.stream)).toBe(0)
    expect(await pending(store)).toBe(0)
    expect(await client.hLen(store.keys.entries)).toBe(0)
    expect(await store.stats.read(at(3))).toEqual({
      queue_depth: 0,
      dlq_depth: 0,
      total_jobs: 1,
      jobs_by_status: { completed: 1 },
      processing_rate_per_minute: 0.2,
    })
  })

  it('counts only jobs finished in the last five minutes in the rate', async () => {
    const store = await freshStore()
    for (const [id, second] of [
      ['old', 0],
      ['new1', 600],
      ['new2', 610],
    ] as const) {
      await store.create(newJob(id))
      await store.finish(await take(store, 'c1', second), { status: 'completed', outputs: [] }, at(second))
    }
    expect((await store.stats.read(at(620))).processing_rate_per_minute).toBe(0.4)
  })

  it('recovers when Redis forgets its scripts', async () => {
    const store = await freshStore()
    await store.create(newJob('e'))
    await client.scriptFlush()
    expect((await take(store)).lease).toBe(1)
  })
})

describe('JobStore: finishing and taking the next job in one step', () => {
  it('records the result, then takes and starts the next entry for the same consumer', async () => {
    const store = await freshStore()
    await store.create(newJob('n1'))
    await store.create(newJob('n2'))
    const first = await take(store, 'c1')
    const { recorded, next } = await store.finishAndTakeNext(
      first,
      { status: 'completed', outputs },
      at(2),
      'c1',
    )
    expect(recorded).toBe(true)
    expect(next).toMatchObject({ jobId: 'n2', start: { started: true, attempts: 1, before: 'queued' } })
    if (!next?.start.started) throw new Error('unreachable')
    expect(next.start.job).toMatchObject({ job_id: 'n2', status: 'processing', attempts: 1 })
    expect(await store.get('n1')).toMatchObject({ status: 'completed' })
    // The next entry is pending under c1 (its heartbeat and XAUTOCLAIM apply as usual)...
    const consumers = await client.xInfoConsumers(store.keys.stream, store.keys.group)
    expect(consumers.find((c) => c.name === 'c1')?.pending).toBe(1)
    // ...and finishing it with nothing left waiting takes nothing.
    const last = await store.finishAndTakeNext(
      next.start.claim,
      { status: 'completed', outputs },
      at(3),
      'c1',
    )
    expect(last).toEqual({ recorded: true, next: null })
    expect(await pending(store)).toBe(0)
    expect((await store.stats.read(at(4))).jobs_by_status).toEqual({ completed: 2 })
  })

  it('takes nothing without a consumer, nor when the result is refused', async () => {
    const store = await freshStore()
    await store.create(newJob('m1'))
    await store.create(newJob('m2'))
    const claim = await take(store, 'c1')
    const stale = { ...claim, lease: claim.lease + 1 }
    expect(await store.finishAndTakeNext(stale, { status: 'completed', outputs }, at(2), 'c1')).toEqual({
      recorded: false,
      next: null,
    })
    expect(await store.finishAndTakeNext(claim, { status: 'completed', outputs }, at(2), '')).toEqual({
      recorded: true,
      next: null,
    })
    expect((await read(store, 'c2')).message).toEqual({ job_id: 'm2' })
  })
})

describe('JobStore: status only moves forward, results are fenced', () => {
  it('never moves a finished job back, even when its message is replayed', async () => {
    const store = await freshStore()
    await store.create(newJob('b'))
    const claim = await take(store)
    await store.finish(claim, { status: 'completed', outputs: [] }, at(2))

    expect(await store.start('b', claim.entryId, 'c2', at(3))).toEqual({
      started: false,
      status: 'completed',
    })
    expect(await store.finish(claim, { status: 'failed', error: 'late', code: 'x' }, at(4))).toBe(false)
    expect(await store.get('b')).toMatchObject({ status: 'completed', attempts: 1 })
    expect((await store.stats.read(at(5))).jobs_by_status).toEqual({ completed: 1 })
  })

  it("refuses a stale worker's result after a takeover, and leaves the entry to the new owner", async () => {
    const store = await freshStore()
    await store.create(newJob('f'))
    const stale = await take(store, 'slow')
    // XAUTOCLAIM hands the same entry to another consumer, which starts it again.
    await client.xClaim(store.keys.stream, store.keys.group, 'fresh', 0, stale.entryId)
    const takeover = await store.start('f', stale.entryId, 'fresh', at(5))
    expect(takeover).toMatchObject({ started: true, attempts: 2, before: 'processing', claim: { lease: 2 } })
    if (!takeover.started) throw new Error('unreachable')

    expect(await store.heartbeat(stale, 'slow')).toBe(false)
    expect(await store.finish(stale, { status: 'completed', outputs }, at(6))).toBe(false)
    expect(await store.retryLater(stale, 'boom', 'x', at(60), at(6))).toBe(false)
    expect(await pending(store)).toBe(1) // the new owner's entry is still pending
    const consumers = await client.xInfoConsumers(store.keys.stream, store.keys.group)
    expect(consumers.find((c) => c.name === 'fresh')?.pending).toBe(1)

    expect(await store.heartbeat(takeover.claim, 'fresh')).toBe(true)
    expect(await store.finish(takeover.claim, { status: 'completed', outputs: [] }, at(7))).toBe(true)
    expect(await store.get('f')).toMatchObject({ status: 'completed', attempts: 2, outputs: [] })
    expect(await pending(store)).toBe(0)
  })

  it('settles a duplicate entry of a job that is running under another entry without starting it', async () => {
    const store = await freshStore()
    await store.create(newJob('g'))
    const claim = await take(store)
    const duplicate = await client.xAdd(store.keys.stream, '*', { job_id: 'g' })
    expect(await store.start('g', duplicate, 'c2', at(2))).toEqual({ started: false, status: 'processing' })
    expect(await store.get('g')).toMatchObject({ status: 'processing', attempts: 1 })
    expect(await store.heartbeat(claim, 'c1')).toBe(true)
  })
})

describe('JobStore: progress and skipped profiles', () => {
  it('shows progress while processing, only from the lease holder, and 100 with skipped profiles at the end', async () => {
    const store = await freshStore()
    await store.create(newJob('p'))
    const claim = await take(store)
    expect(await store.reportProgress(claim, 42.5, 12)).toBe(true)
    expect(await store.get('p')).toMatchObject({ status: 'processing', progress: 42.5, eta_seconds: 12 })
    expect(await store.reportProgress({ ...claim, lease: 99 }, 50, 1)).toBe(false)
    expect(await store.reportProgress(claim, 60, null)).toBe(true)
    expect((await store.get('p'))?.eta_seconds).toBeUndefined()

    const skipped = [{ profile: '720p', reason: 'source is 640x360; 720p would upscale it' }]
    await store.finish(claim, { status: 'completed', outputs, skipped }, at(3))
    const job = await store.get('p')
    expect(job).toMatchObject({ status: 'completed', progress: 100, skipped })
    expect(job?.eta_seconds).toBeUndefined()
    expect(await store.reportProgress(claim, 10, 1)).toBe(false)
  })
})

describe('JobStore: a job playable while processing', () => {
  it('reads playable_at from the record, and the log has job.playable with the job and its owner', async () => {
    const store = await freshStore()
    await store.create({ ...newJob('pl'), callback_url: 'https://app.example/hook' }, undefined, 'key-1')
    const claim = await take(store)
    expect((await store.get('pl'))?.playable_at).toBeUndefined()
    const id = await markPlayable(store, 'pl', at(2))
    expect(await store.get('pl')).toMatchObject({ status: 'processing', playable_at: at(2).toISOString() })
    const [event] = await store.events.after(id, 1, true)
    expect(event).toMatchObject({
      id,
      type: 'job.playable',
      job_id: 'pl',
      status: 'processing',
      client: 'key-1',
      callback_url: 'https://app.example/hook',
    })
    // Kept once completed: when the stream became playable, before the end.
    await store.finish(claim, { status: 'completed', outputs }, at(3))
    expect(await store.get('pl')).toMatchObject({ status: 'completed', playable_at: at(2).toISOString() })
  })
})

describe('JobStore: retries and the dead-letter queue', () => {
  it('parks a transient failure as retrying without a pending entry, and queues it when due', async () => {
    const store = await freshStore()
    await store.create(newJob('r'))
    const claim = await take(store)
    expect(await store.retryLater(claim, 'ffmpeg failed (exit code 1)', 'ffmpeg_exit', at(30), at(2))).toBe(
      true,
    )
    expect(await store.get('r')).toMatchObject({
      status: 'retrying',
      attempts: 1,
      error: 'ffmpeg failed (exit code 1)',
      error_code: 'ffmpeg_exit',
      next_attempt_at: at(30).toISOString(),
    })
    expect(await client.xLen(store.keys.stream)).toBe(0)
    expect(await pending(store)).toBe(0)
    expect((await store.stats.read(at(3))).jobs_by_status).toEqual({ retrying: 1 })

    expect(await store.promoteDue(at(29))).toBe(0)
    expect(await store.promoteDue(at(30))).toBe(1)
    expect(await store.promoteDue(at(31))).toBe(0) // promoted once only
    const again = await take(store, 'c2', 32)
    expect(again.lease).toBe(2)
    const job = await store.get('r')
    expect(job).toMatchObject({ status: 'processing', attempts: 2 })
    expect(job?.next_attempt_at).toBeUndefined()
  })

  it('dead-letters a failure with its reason, lists it, and replays it once', async () => {
    const store = await freshStore()
    await store.create(newJob('d'))
    await store.finish(
      await take(store),
      { status: 'failed', error: 'Input has no video stream', code: 'no_video_stream' },
      at(2),
    )
    expect(await store.get('d')).toMatchObject({
      status: 'failed',
      error: 'Input has no video stream',
      error_code: 'no_video_stream',
    })
    const list = await store.deadLetters.list(100)
    expect(list.total).toBe(1)
    const [entry] = list.entries
    expect(entry).toEqual({
      message_id: expect.stringMatching(/^\d+-\d+$/),
      job_id: 'd',
      filename: 'clip.mp4',
      error: 'Input has no video stream',
      attempts: 1,
      failed_at: at(2).toISOString(),
    })
    expect(await store.stats.read(at(3))).toMatchObject({ dlq_depth: 1, jobs_by_status: { failed: 1 } })

    const id = entry?.message_id ?? ''
    expect(await store.deadLetters.retry(id, at(4))).toBe('d')
    expect(await store.deadLetters.retry(id, at(5))).toBeNull()
    const replayed = await store.get('d')
    expect(replayed).toMatchObject({ status: 'queued', attempts: 0, outputs: [] })
    expect(replayed?.error).toBeUndefined()
    expect(await client.xLen(store.keys.stream)).toBe(1)
    expect(await store.stats.read(at(6))).toMatchObject({
      queue_depth: 1,
      dlq_depth: 0,
      jobs_by_status: { queued: 1 },
    })
  })

  it('discards a dead-letter entry, leaving the job failed', async () => {
    const store = await freshStore()
    await store.create(newJob('x'))
    await store.finish(await take(store), { status: 'failed', error: 'nope', code: 'x' }, at(2))
    const [entry] = (await store.deadLetters.list(10)).entries
    expect(await store.deadLetters.delete(entry?.message_id ?? '')).toBe('x')
    expect(await store.deadLetters.delete(entry?.message_id ?? '')).toBeNull()
    // Its upload, kept for a retry that can no longer come, is marked for removal once.
    expect(await store.deadLetters.takeDiscardedUploads(10)).toEqual(['x'])
    expect(await store.deadLetters.takeDiscardedUploads(10)).toEqual([])
    expect(await store.get('x')).toMatchObject({ status: 'failed' })
    expect(await store.deadLetters.retry(entry?.message_id ?? '', at(3))).toBeNull()
  })

  it('dead-letters the job of a pending entry deleted from the stream', async () => {
    const store = await freshStore()
    await store.create(newJob('lost'))
    const entry = await read(store)
    await client.xDel(store.keys.stream, entry.id)
    expect(await store.failLostEntry(entry.id, at(5))).toBe('lost')
    expect(await store.get('lost')).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/deleted/),
    })
    expect((await store.deadLetters.list(10)).entries.map((e) => e.job_id)).toEqual(['lost'])
    expect(await store.failLostEntry(entry.id, at(6))).toBeNull()
  })

  it('pages through the dead-letter queue', async () => {
    const store = await freshStore()
    for (const id of ['p1', 'p2', 'p3']) {
      await store.create(newJob(id))
      await store.finish(await take(store), { status: 'failed', error: id, code: 'x' }, at(1))
    }
    const first = await store.deadLetters.list(2)
    expect(first.entries.map((e) => e.job_id)).toEqual(['p1', 'p2'])
    const next = await store.deadLetters.list(2, first.entries[1]?.message_id)
    expect(next).toMatchObject({ total: 3, entries: [{ job_id: 'p3' }] })
  })
})

describe('JobStore: a sick transcoder hands its job back', () => {
  it('queues it again at once, its attempt uncounted and its entry settled, with a job.queued event saying why', async () => {
    const store = await freshStore()
    await store.create(newJob('sick'))
    // A first attempt failed and was retried: that one counts.
    expect(await store.retryLater(await take(store), 'ffmpeg crashed', 'ffmpeg_exit', at(3), at(2))).toBe(
      true,
    )
    expect(await store.promoteDue(at(3))).toBe(1)
    const claim = await take(store, 'c1', 4)
    expect(await store.get('sick')).toMatchObject({ status: 'processing', attempts: 2 })

    const why =
      'Returned to the queue uncounted: transcoder c1 is sick (disk full: No space left on the output volume (OUTPUT_DIR))'
    expect(await store.returnToQueue(claim, why, 'transcoder_unhealthy', at(5))).toBe(true)
    const job = await store.get('sick')
    expect(job).toMatchObject({
      status: 'queued',
      attempts: 1,
      error: why,
      error_code: 'transcoder_unhealthy',
      updated_at: at(5).toISOString(),
    })
    expect(job?.progress).toBeUndefined()
    expect(await pending(store)).toBe(0) // the old entry settled
    expect(await client.xLen(store.keys.stream)).toBe(1) // a new one, for any consumer
    expect((await store.stats.read(at(5))).jobs_by_status).toEqual({ queued: 1 })
    expect((await store.list({ status: 'queued', limit: 10 })).jobs.map((j) => j.job_id)).toEqual(['sick'])

    // Sent again (a lost reply): the same answer, nothing changed.
    expect(await store.returnToQueue(claim, why, 'transcoder_unhealthy', at(6))).toBe(true)
    expect(await client.xLen(store.keys.stream)).toBe(1)
    expect((await store.get('sick'))?.attempts).toBe(1)
    // The sick worker's lease is spent.
    expect(await store.heartbeat(claim, 'c1')).toBe(false)
    expect(await store.finish(claim, { status: 'completed', outputs }, at(6))).toBe(false)

    // A healthy consumer takes it: attempt 2 again, not 3.
    const next = await take(store, 'c2', 7)
    expect(next.lease).toBe(claim.lease + 1)
    expect(await store.get('sick')).toMatchObject({ status: 'processing', attempts: 2 })
    expect(await store.returnToQueue(claim, why, 'transcoder_unhealthy', at(8))).toBe(false) // too late now

    const events = (await store.events.after('-', 100)).filter((e) => e.job_id === 'sick')
    expect(events.map((e) => e.type)).toEqual([
      'job.queued',
      'job.processing',
      'job.retrying',
      'job.processing',
      'job.queued',
      'job.processing',
    ])
    expect(events[4]).toMatchObject({ status: 'queued', error: why, error_code: 'transcoder_unhealthy' })
    expect(events[0]?.error).toBeUndefined() // a new job's job.queued says nothing of the kind
  })

  it('hands back a first attempt as never made (attempts 0)', async () => {
    const store = await freshStore()
    await store.create(newJob('first'))
    const claim = await take(store)
    expect(await store.returnToQueue(claim, 'sick', 'transcoder_unhealthy', at(2))).toBe(true)
    expect(await store.get('first')).toMatchObject({ status: 'queued', attempts: 0 })
  })
})

describe('JobStore: outcome writes sent twice (the first reply was lost)', () => {
  it('answers a repeated finish as the first time, counting the job once', async () => {
    const store = await freshStore()
    await store.create(newJob('once'))
    const claim = await take(store)
    expect(await store.finish(claim, { status: 'completed', outputs }, at(2))).toBe(true)
    expect(await store.finish(claim, { status: 'completed', outputs }, at(3))).toBe(true)
    expect(await store.get('once')).toMatchObject({ status: 'completed', updated_at: at(2).toISOString() })
    expect((await store.stats.read(at(4))).jobs_by_status).toEqual({ completed: 1 })
    expect(await client.zCard(store.keys.finished)).toBe(1)
    // Another consumer's claim on the same job is still refused.
    expect(
      await store.finish({ ...claim, lease: claim.lease + 1 }, { status: 'completed', outputs }, at(3)),
    ).toBe(false)
    expect(await store.finish(claim, { status: 'failed', error: 'x', code: 'x' }, at(3))).toBe(false)
  })

  it('hands out the same next job when finishAndTakeNext is sent again', async () => {
    const store = await freshStore()
    for (const id of ['first', 'second']) await store.create(newJob(id))
    const claim = await take(store)
    const done = { status: 'completed', outputs } as const
    const once = await store.finishAndTakeNext(claim, done, at(2), 'c1')
    const twice = await store.finishAndTakeNext(claim, done, at(3), 'c1')
    expect(once.next?.jobId).toBe('second')
    expect(twice).toEqual(once)
    expect(await store.get('second')).toMatchObject({ status: 'processing', attempts: 1 })
    expect((await store.stats.read(at(4))).jobs_by_status).toEqual({ completed: 1, processing: 1 })
    // Taken over by another consumer since: the repeat no longer hands it out.
    const next = once.next?.start
    if (!next?.started) throw new Error('next not started')
    await client.xClaim(store.keys.stream, store.keys.group, 'c2', 0, next.claim.entryId)
    expect((await store.start('second', next.claim.entryId, 'c2', at(5))).started).toBe(true)
    expect(await store.finishAndTakeNext(claim, done, at(6), 'c1')).toEqual({ recorded: true, next: null })
  })

  it('answers a repeated retryLater as the first time, also once the retry was queued', async () => {
    const store = await freshStore()
    await store.create(newJob('again'))
    const claim = await take(store)
    expect(await store.retryLater(claim, 'ffmpeg crashed', 'ffmpeg_exit', at(10), at(2))).toBe(true)
    expect(await store.retryLater(claim, 'ffmpeg crashed', 'ffmpeg_exit', at(10), at(3))).toBe(true)
    expect(await client.zCard(store.keys.delayed)).toBe(1)
    expect(await store.promoteDue(at(11))).toBe(1)
    expect(await store.retryLater(claim, 'ffmpeg crashed', 'ffmpeg_exit', at(10), at(12))).toBe(true)
    expect(await client.xLen(store.keys.stream)).toBe(1)
    expect((await store.stats.read(at(13))).jobs_by_status).toEqual({ retrying: 1 })
  })
})

describe('JobStore: bounded growth', () => {
  it('keeps at most DLQ_MAXLEN dead-letter entries', async () => {
    const store = await freshStore({ dlqMaxLen: 2 })
    for (const id of ['f1', 'f2', 'f3']) {
      await store.create(newJob(id))
      await store.finish(await take(store), { status: 'failed', error: id, code: 'x' }, at(1))
    }
    const list = await store.deadLetters.list(10)
    expect(list).toMatchObject({ total: 2, entries: [{ job_id: 'f2' }, { job_id: 'f3' }] })
    expect(await store.get('f1')).toMatchObject({ status: 'failed' })
  })

  it('removes consumers idle past the limit that hold no pending entry, never the caller', async () => {
    const store = await freshStore()
    await store.create(newJob('held'))
    await read(store, 'busy') // pending for 'busy'
    await client.xGroupCreateConsumer(store.keys.stream, store.keys.group, 'idle')
    await client.xGroupCreateConsumer(store.keys.stream, store.keys.group, 'me')
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(await store.group.removeIdleConsumers('me', 3_600_000)).toEqual([])
    expect(await store.group.removeIdleConsumers('me', 10)).toEqual(['idle'])
    const names = (await client.xInfoConsumers(store.keys.stream, store.keys.group)).map((c) => c.name)
    expect(names.sort()).toEqual(['busy', 'me'])
  })

  it('names the new stream entry on the record whichever way a job is queued', async () => {
    const store = await freshStore()
    await store.create(newJob('e'))
    const claim = await take(store)
    const first = await client.hGet(store.keys.job('e'), 'entry_id')
    expect(first).toBe(claim.entryId)
    await store.retryLater(claim, 'x', 'x', at(1), at(1))
    await store.promoteDue(at(2))
    const promoted = await client.hGet(store.keys.job('e'), 'entry_id')
    expect(promoted).toMatch(/^\d+-\d+$/)
    expect(promoted).not.toBe(first)
    expect(await client.hGet(store.keys.entries, promoted ?? '')).toBe('e')
  })
})

describe('withIncludes', () => {
  it('puts each named fragment in once and refuses an unknown name', () => {
    const source = withIncludes('--- @include "holds_lease"\n--- @include "holds_lease"\nreturn 1')
    expect(source.match(/local function holds_lease/g)).toHaveLength(1)
    expect(() => withIncludes('--- @include "no_such"')).toThrow('unknown Lua include "no_such"')
  })
  it("loads the store's scripts, each with its N", () => {
    expect(STORE_SCRIPTS.finish.keys).toBe(10)
    expect(STORE_SCRIPTS.delete.keys).toBe(15)
    expect(STORE_SCRIPTS.finish.source).not.toContain('@include')
  })

  it('raises errors by their stable code, and refuses a call with another number of KEYS before Redis sees it', async () => {
    const store = await freshStore()
    await store.create(newJob('twice'))
    const error = await store.create(newJob('twice')).catch((e: unknown) => e)
    expect(isLuaError(error, LUA_ERRORS.jobExists)).toBe(true)
    expect(String(error)).toContain('VPP_JOB_EXISTS job twice exists')
    await expect(store.redis.script('heartbeat', [store.keys.job('twice')], [])).rejects.toThrow(
      'Lua script heartbeat takes 2 KEYS, called with 1',
    )
    // @ts-expect-error: not a script name, refused by the type and at run time
    await expect(store.redis.script('no_such', [], [])).rejects.toThrow('unknown Lua script no_such')
  })
})

describe('JobStore: cancel', () => {
  it('cancels a queued job at once: its entry is settled, it is never started, it moves in the listings', async () => {
    const store = await freshStore()
    await store.create(newJob('q'))
    expect(await store.cancel('q', at(1))).toBe('queued')
    expect(await store.get('q')).toMatchObject({ status: 'canceled', updated_at: at(1).toISOString() })
    expect(await client.xLen(store.keys.stream)).toBe(0)
    expect((await store.stats.read(at(2))).jobs_by_status).toEqual({ canceled: 1 })
    expect((await store.list({ status: 'canceled', limit: 10 })).jobs.map((j) => j.job_id)).toEqual(['q'])
    expect((await store.list({ status: 'queued', limit: 10 })).jobs).toEqual([])
    expect(await store.cancel('q', at(3))).toBe('canceled') // again: nothing changes
    expect(await store.cancel('missing', at(3))).toBeNull()
  })

  it('takes a retrying job out of the delayed set, and refuses the running worker its outcome', async () => {
    const store = await freshStore()
    await store.create(newJob('r'))
    const claim = await take(store)
    await store.retryLater(claim, 'x', 'x', at(10), at(1))
    expect(await store.cancel('r', at(2))).toBe('retrying')
    expect(await client.zCard(store.keys.delayed)).toBe(0)
    expect(await store.promoteDue(at(11))).toBe(0)

    await store.create(newJob('p'))
    const running = await take(store)
    expect(await store.cancel('p', at(3))).toBe('processing')
    expect(await pending(store)).toBe(0)
    expect(await store.heartbeat(running, 'c1')).toBe(false)
    expect(await store.finish(running, { status: 'completed', outputs }, at(4))).toBe(false)
    expect(await store.get('p')).toMatchObject({ status: 'canceled', outputs: [] })
  })

  it('leaves finished jobs as they are', async () => {
    const store = await freshStore()
    await store.create(newJob('f'))
    await store.finish(await take(store), { status: 'completed', outputs }, at(1))
    expect(await store.cancel('f', at(2))).toBe('completed')
    expect(await store.get('f')).toMatchObject({ status: 'completed' })
  })
})
