import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Job } from './job.ts'
import { JobStore } from './job-store.ts'
import { createLogger } from './logger.ts'
import { closeRedis, connectRedis, type RedisClient } from './redis.ts'
import { redisKeys } from './redis-keys.ts'
import { startTestRedis, type TestRedis } from './testing/redis.ts'

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

async function freshStore() {
  const store = new JobStore(client, redisKeys(redis.prefix()))
  await store.ensureGroup()
  await store.ensureGroup() // a second call (another service starting) is harmless
  return store
}

async function readOne(store: JobStore) {
  const reply = (await client.xReadGroup(
    store.keys.group,
    'c1',
    { key: store.keys.stream, id: '>' },
    { COUNT: 1 },
  )) as Array<{
    messages: Array<{ id: string; message: Record<string, string> }>
  }> | null
  const entry = reply?.[0]?.messages[0]
  if (!entry) throw new Error('no entry')
  return entry
}

describe('JobStore', () => {
  it('stores a job and queues exactly one stream entry for it', async () => {
    const store = await freshStore()
    await store.create(newJob('job-1'))
    expect(await store.get('job-1')).toEqual(newJob('job-1'))
    expect(await store.get('missing')).toBeNull()
    const entry = await readOne(store)
    expect(entry.message).toEqual({ job_id: 'job-1' })
  })

  it('walks queued -> processing -> completed, settling the entry and counting', async () => {
    const store = await freshStore()
    await store.create(newJob('a'))
    expect(await store.stats(at(0))).toMatchObject({
      queue_depth: 1,
      total_jobs: 1,
      jobs_by_status: { queued: 1 },
    })

    const entry = await readOne(store)
    expect(await store.start('a', at(1))).toBe('queued')
    expect(await store.get('a')).toMatchObject({
      status: 'processing',
      attempts: 1,
      updated_at: at(1).toISOString(),
    })
    expect(await store.stats(at(1))).toMatchObject({ queue_depth: 0, jobs_by_status: { processing: 1 } })

    const outputs = [
      {
        profile: '720p',
        path: '/o/a/720p.mp4',
        width: 1280,
        height: 720,
        duration: 2,
        size_bytes: 10,
        codec: 'h264',
      },
    ]
    expect(await store.finish('a', entry.id, { status: 'completed', outputs }, at(2))).toBe(true)
    expect(await store.get('a')).toMatchObject({
      status: 'completed',
      outputs,
      updated_at: at(2).toISOString(),
    })
    expect(await client.xLen(store.keys.stream)).toBe(0)
    expect((await client.xPending(store.keys.stream, store.keys.group)).pending).toBe(0)
    expect(await store.stats(at(3))).toEqual({
      queue_depth: 0,
      dlq_depth: 0,
      total_jobs: 1,
      jobs_by_status: { completed: 1 },
      processing_rate_per_minute: 0.2,
    })
  })

  it('never moves a finished job back, even when its message is replayed', async () => {
    const store = await freshStore()
    await store.create(newJob('b'))
    const entry = await readOne(store)
    await store.start('b', at(1))
    await store.finish('b', entry.id, { status: 'completed', outputs: [] }, at(2))

    expect(await store.start('b', at(3))).toBe('completed')
    expect(await store.finish('b', entry.id, { status: 'failed', error: 'late' }, at(4))).toBe(false)
    expect(await store.get('b')).toMatchObject({ status: 'completed', attempts: 1 })
    expect((await store.stats(at(5))).jobs_by_status).toEqual({ completed: 1 })
  })

  it('records a failure with its error and adds it to the dead-letter stream', async () => {
    const store = await freshStore()
    await store.create(newJob('c'))
    const entry = await readOne(store)
    await store.start('c', at(1))
    await store.finish('c', entry.id, { status: 'failed', error: 'Input has no video stream' }, at(2))
    expect(await store.get('c')).toMatchObject({ status: 'failed', error: 'Input has no video stream' })
    const dlq = await client.xRange(store.keys.dlq, '-', '+')
    expect(dlq.map((e) => e.message)).toEqual([
      { job_id: 'c', error: 'Input has no video stream', failed_at: at(2).toISOString() },
    ])
    expect(await store.stats(at(3))).toMatchObject({ dlq_depth: 1, jobs_by_status: { failed: 1 } })
  })

  it('requeues an interrupted job with a fresh entry', async () => {
    const store = await freshStore()
    await store.create(newJob('d'))
    const first = await readOne(store)
    await store.start('d', at(1))
    expect(await store.requeue('d', first.id, at(2))).toBe(true)
    expect(await store.get('d')).toMatchObject({ status: 'queued', attempts: 1 })
    const second = await readOne(store)
    expect(second.id).not.toBe(first.id)
    expect(second.message).toEqual({ job_id: 'd' })
    expect(await store.stats(at(3))).toMatchObject({ queue_depth: 0, jobs_by_status: { queued: 1 } })
  })

  it('counts only jobs finished in the last five minutes in the rate', async () => {
    const store = await freshStore()
    for (const [id, second] of [
      ['old', 0],
      ['new1', 600],
      ['new2', 610],
    ] as const) {
      await store.create(newJob(id))
      const entry = await readOne(store)
      await store.start(id, at(second))
      await store.finish(id, entry.id, { status: 'completed', outputs: [] }, at(second))
    }
    expect((await store.stats(at(620))).processing_rate_per_minute).toBe(0.4)
  })

  it('recovers when Redis forgets its scripts', async () => {
    const store = await freshStore()
    await store.create(newJob('e'))
    await readOne(store)
    await client.scriptFlush()
    expect(await store.start('e', at(1))).toBe('queued')
  })
})
