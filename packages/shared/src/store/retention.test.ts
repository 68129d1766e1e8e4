import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { JOB_STATUSES } from '../api/statuses.ts'
import { createLogger } from '../logger.ts'
import { closeRedis, connectRedis, type RedisClient } from '../redis/redis.ts'
import { redisKeys } from '../redis/redis-keys.ts'
import { queuedJob } from '../testing/jobs.ts'
import { startTestRedis, type TestRedis } from '../testing/redis.ts'
import type { Claim } from './job-hash.ts'
import { JobStore } from './job-store.ts'

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
const outputs = [
  {
    profile: '360p',
    path: '/o/a/360p.mp4',
    width: 640,
    height: 360,
    duration: 2,
    size_bytes: 10,
    bitrate: 40,
    codec: 'h264',
  },
]

async function freshStore() {
  const store = new JobStore(client, redisKeys(redis.prefix()))
  await store.group.ensure()
  return store
}

/** Create job `id` (under `idempotencyKey` when given), read its entry and start it. */
async function started(store: JobStore, id: string, idempotencyKey?: string): Promise<Claim> {
  await store.create(queuedJob(id, { created_at: T0.toISOString() }), idempotencyKey)
  const reply = (await client.xReadGroup(
    store.keys.group,
    'c1',
    { key: store.keys.stream, id: '>' },
    { COUNT: 1 },
  )) as Array<{ messages: Array<{ id: string }> }> | null
  const entryId = reply?.[0]?.messages[0]?.id ?? ''
  const start = await store.start(id, entryId, 'c1', T0)
  if (!start.started) throw new Error(`${id} not started`)
  return start.claim
}

const complete = async (store: JobStore, id: string, second: number, key?: string) =>
  store.finish(await started(store, id, key), { status: 'completed', outputs }, at(second))
const fail = async (store: JobStore, id: string, second: number) =>
  store.finish(
    await started(store, id),
    { status: 'failed', error: 'bad', code: 'invalid_input' },
    at(second),
  )

/** Every listing index entry: index name -> job ids. */
async function indexes(store: JobStore): Promise<Record<string, string[]>> {
  const found: Record<string, string[]> = {}
  for (const name of ['all', ...JOB_STATUSES]) {
    const ids = await client.zRange(store.keys.index(name), 0, -1)
    if (ids.length > 0) found[name] = ids.sort()
  }
  return found
}

/** Expire every record finished at or before `cutoff`, as a sweep does (batches of 2 here). */
async function expireRecords(store: JobStore, cutoff: Date): Promise<string[]> {
  const deleted: string[] = []
  for (;;) {
    const ids = await store.retention.finishedBefore(cutoff, 2)
    if (ids.length === 0) return deleted
    for (const id of ids) if ((await store.expireRecord(id, cutoff)) === 'deleted') deleted.push(id)
  }
}

describe('Retention: job records (JOB_RETENTION_DAYS)', () => {
  it('removes finished records older than the cutoff with their indexes, idempotency key and dead letter; younger ones stay', async () => {
    const store = await freshStore()
    await complete(store, 'old-done', 10, 'client:key-1')
    await fail(store, 'old-failed', 20)
    await store.create(queuedJob('old-canceled'))
    expect(await store.cancel('old-canceled', at(30))).toBe('queued')
    await complete(store, 'young-done', 100, 'client:key-2')
    await fail(store, 'young-failed', 110)
    await store.create(queuedJob('waiting')) // not finished: never expires
    expect(await client.zRange(store.keys.retention, 0, -1)).toEqual([
      'old-done',
      'old-failed',
      'old-canceled',
      'young-done',
      'young-failed',
    ])
    expect(await client.xLen(store.keys.dlq)).toBe(2)

    expect((await expireRecords(store, at(50))).sort()).toEqual(['old-canceled', 'old-done', 'old-failed'])

    for (const id of ['old-done', 'old-failed', 'old-canceled']) expect(await store.get(id), id).toBeNull()
    expect(await indexes(store)).toEqual({
      all: ['waiting', 'young-done', 'young-failed'],
      completed: ['young-done'],
      failed: ['young-failed'],
      queued: ['waiting'],
    })
    expect(await client.exists(store.keys.idempotency('client:key-1'))).toBe(0)
    expect((await store.idempotentJob('client:key-2'))?.job_id).toBe('young-done')
    expect((await store.deadLetters.list(10)).entries.map((e) => e.job_id)).toEqual(['young-failed'])
    expect(await client.zRange(store.keys.retention, 0, -1)).toEqual(['young-done', 'young-failed'])
    expect(await client.zRange(store.keys.outputRetention, 0, -1)).toEqual(['young-done'])
    // Their files (outputs, the failed job's kept upload) go to the transcoders' drain.
    expect((await client.sMembers(store.keys.deletedJobs)).sort()).toEqual([
      'old-canceled',
      'old-done',
      'old-failed',
    ])
    expect((await store.stats.read(at(120))).jobs_by_status).toEqual({ completed: 1, failed: 1, queued: 1 })
  })

  it('takes a retried dead letter out of the retention set, and never deletes it on an earlier pick', async () => {
    const store = await freshStore()
    await fail(store, 'f', 10)
    const [picked] = await store.retention.finishedBefore(at(50), 100)
    expect(picked).toBe('f')
    const [entry] = (await store.deadLetters.list(10)).entries
    expect(await store.deadLetters.retry(entry?.message_id ?? '', at(60))).toBe('f')
    expect(await client.zScore(store.keys.retention, 'f')).toBeNull()
    expect(await store.retention.finishedBefore(at(1000), 100)).toEqual([])
    // A sweep that picked it before the retry: the delete script checks again, in its own step.
    expect(await store.expireRecord('f', at(1000))).toBe('kept')
    expect(await store.get('f')).toMatchObject({ status: 'queued' })
  })

  it('keeps a record younger than the cutoff it is given, and forgets entries with no record', async () => {
    const store = await freshStore()
    await complete(store, 'young', 100)
    expect(await store.expireRecord('young', at(50))).toBe('kept')
    expect(await store.get('young')).toMatchObject({ status: 'completed' })
    await client.zAdd(store.keys.retention, { score: at(1).getTime(), value: 'ghost' })
    expect(await store.expireRecord('ghost', at(50))).toBe('missing')
    expect(await client.zScore(store.keys.retention, 'ghost')).toBeNull()
  })
})

describe('Retention: outputs (OUTPUT_RETENTION_DAYS)', () => {
  it('moves an old completed job to expired: outputs emptied, counts and listings follow, outputs marked for removal', async () => {
    const store = await freshStore()
    await complete(store, 'old', 10)
    await complete(store, 'young', 100)
    await fail(store, 'failed', 20)
    // Only completed jobs are candidates: failed ones are never rescanned.
    expect(await store.retention.completedBefore(at(50), 100)).toEqual(['old'])

    expect(await store.retention.expireOutputs('old', at(50), at(200))).toBe(true)
    expect(await store.retention.expireOutputs('young', at(50), at(200))).toBe(false)
    const job = await store.get('old')
    expect(job).toMatchObject({
      status: 'expired',
      outputs: [],
      expired_at: at(200).toISOString(),
      updated_at: at(200).toISOString(),
    })
    expect(await store.stats.read(at(200))).toMatchObject({
      total_jobs: 3,
      jobs_by_status: { completed: 1, expired: 1, failed: 1 },
    })
    expect((await store.list({ status: 'expired', limit: 10 })).jobs.map((j) => j.job_id)).toEqual(['old'])
    expect((await store.list({ status: 'completed', limit: 10 })).jobs.map((j) => j.job_id)).toEqual([
      'young',
    ])
    expect(await store.retention.outputsToRemove(100)).toEqual(['old'])
    expect(await store.retention.completedBefore(at(1000), 100)).toEqual(['young'])
    // The record keeps its completion time for JOB_RETENTION_DAYS.
    expect(await client.zScore(store.keys.retention, 'old')).toBe(at(10).getTime())

    // Again: nothing changes, nothing counted twice.
    expect(await store.retention.expireOutputs('old', at(50), at(300))).toBe(false)
    expect((await store.get('old'))?.expired_at).toBe(at(200).toISOString())
    expect((await store.stats.read(at(300))).jobs_by_status.expired).toBe(1)
    // An expired job cannot be canceled, nor re-finished by a late worker.
    expect(await store.cancel('old', at(310))).toBe('expired')
    expect(await store.get('old')).toMatchObject({ status: 'expired' })

    await store.retention.outputsRemoved(['old'])
    expect(await store.retention.outputsToRemove(100)).toEqual([])
    // Its record expires as any finished one: the expired count goes with it.
    expect(await store.expireRecord('old', at(50))).toBe('deleted')
    expect((await store.stats.read(at(400))).jobs_by_status).toEqual({ completed: 1, failed: 1 })
    expect(await indexes(store)).toEqual({
      all: ['failed', 'young'],
      completed: ['young'],
      failed: ['failed'],
    })
  })

  it('does not touch a job that is no longer completed', async () => {
    const store = await freshStore()
    await complete(store, 'gone', 10)
    await fail(store, 'failed', 10)
    // DELETE /jobs/{id} takes it out of both retention sets.
    expect(await store.delete('gone')).toBe('completed')
    expect(await client.zScore(store.keys.retention, 'gone')).toBeNull()
    expect(await store.retention.completedBefore(at(50), 100)).toEqual([])
    expect(await store.retention.expireOutputs('gone', at(50), at(60))).toBe(false)
    expect(await store.get('gone')).toBeNull()
    expect(await store.retention.expireOutputs('failed', at(50), at(60))).toBe(false)
    expect(await store.get('failed')).toMatchObject({ status: 'failed', expired_at: undefined })
    // An entry left behind for a job no longer completed is dropped, not expired.
    await client.zAdd(store.keys.outputRetention, { score: at(10).getTime(), value: 'failed' })
    expect(await store.retention.expireOutputs('failed', at(50), at(60))).toBe(false)
    expect(await store.retention.completedBefore(at(50), 100)).toEqual([])
    expect(await store.retention.outputsToRemove(100)).toEqual([])
    expect((await store.stats.read(at(60))).jobs_by_status).toEqual({ failed: 1 })
  })
})
