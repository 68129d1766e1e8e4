import {
  closeRedis,
  connectRedis,
  createLogger,
  createRegistry,
  type Job,
  JobSchema,
  JobStore,
  type RedisClient,
  redisKeys,
  StatsSchema,
} from '@vpp/shared'
import { startTestRedis, type TestRedis } from '@vpp/shared/testing'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createApp } from './app.ts'

let redis: TestRedis
let client: RedisClient
let store: JobStore
let app: ReturnType<typeof createApp>

beforeAll(async () => {
  redis = await startTestRedis()
  client = await connectRedis(redis.url, createLogger({ service: 'test', level: 'silent' }))
})
afterAll(async () => {
  await closeRedis(client)
  await redis.stop()
})
beforeEach(async () => {
  store = new JobStore(client, redisKeys(redis.prefix()))
  await store.ensureGroup()
  app = createApp({
    store,
    logger: createLogger({ service: 'status', level: 'silent' }),
    registry: createRegistry('status'),
    now: () => new Date('2026-01-01T00:10:00Z'),
  })
})

const job = (id: string): Job => ({
  job_id: id,
  filename: 'clip.mp4',
  source: 'upload',
  status: 'queued',
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:00.000Z',
  attempts: 0,
  outputs: [],
})

describe('GET /jobs/{job_id}', () => {
  it('returns the job record', async () => {
    await store.create(job('5d3c0a4e-1111-4222-8333-944455556666'))
    const res = await app.request('/jobs/5d3c0a4e-1111-4222-8333-944455556666')
    expect(res.status).toBe(200)
    expect(JobSchema.parse(await res.json())).toEqual(job('5d3c0a4e-1111-4222-8333-944455556666'))
  })

  it('answers 404 JSON for unknown and impossible ids', async () => {
    for (const id of ['5d3c0a4e-0000-4222-8333-944455556666', '..%2F..%2Fetc', 'x'.repeat(100)]) {
      const res = await app.request(`/jobs/${id}`)
      expect(res.status, id).toBe(404)
      expect((await res.json()).error).toBe('not_found')
    }
  })
})

describe('GET /stats', () => {
  it('reports depth, totals and statuses from the counters', async () => {
    await store.create(job('a'))
    await store.create(job('b'))
    const res = await app.request('/stats')
    expect(res.status).toBe(200)
    expect(StatsSchema.parse(await res.json())).toEqual({
      queue_depth: 2,
      dlq_depth: 0,
      total_jobs: 2,
      jobs_by_status: { queued: 2 },
      processing_rate_per_minute: 0,
    })
  })
})

describe('GET /healthz', () => {
  it('is 200 while Redis answers and 503 once it does not', async () => {
    expect((await app.request('/healthz')).status).toBe(200)
    const other = await connectRedis(redis.url, createLogger({ service: 'test', level: 'silent' }))
    const down = createApp({
      store: new JobStore(other, store.keys),
      logger: createLogger({ service: 's', level: 'silent' }),
      registry: createRegistry('s'),
    })
    await closeRedis(other)
    const res = await down.request('/healthz')
    expect(res.status).toBe(503)
    expect(await res.json()).toEqual({ error: 'unavailable', message: 'Redis is not reachable' })
  })
})
