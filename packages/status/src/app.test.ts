import {
  closeRedis,
  connectRedis,
  createLogger,
  createRegistry,
  DlqListSchema,
  type Job,
  JobSchema,
  JobStore,
  keyId,
  type RedisClient,
  redisKeys,
  StatsSchema,
} from '@vpp/shared'
import { startTestRedis, type TestRedis } from '@vpp/shared/testing'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createApp } from './app.ts'
import { MediaSigner } from './media-token.ts'

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
  await store.group.ensure()
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

/** Run a job through the store to a dead-letter entry, as a transcoder would. */
async function deadLetter(id: string, error: string): Promise<string> {
  await store.create(job(id))
  const reply = (await client.xReadGroup(
    store.keys.group,
    'w',
    { key: store.keys.stream, id: '>' },
    { COUNT: 1 },
  )) as Array<{
    messages: Array<{ id: string }>
  }>
  const entryId = reply[0]?.messages[0]?.id ?? ''
  const started = await store.start(id, entryId, 'w', new Date('2026-01-01T00:01:00Z'))
  if (!started.started) throw new Error('not started')
  await store.finish(
    started.claim,
    { status: 'failed', error, code: 'invalid_input' },
    new Date('2026-01-01T00:02:00Z'),
  )
  const list = await store.deadLetters.list(1000)
  return list.entries.find((e) => e.job_id === id)?.message_id ?? ''
}

describe('the dead-letter queue', () => {
  it('GET /dlq lists entries with their reason', async () => {
    await deadLetter('j1', 'Input has no video stream')
    await deadLetter('j2', 'FFmpeg timeout (gave up after 3 attempts)')
    const res = await app.request('/dlq')
    expect(res.status).toBe(200)
    const body = DlqListSchema.parse(await res.json())
    expect(body.total).toBe(2)
    expect(
      body.entries.map(({ job_id, filename, error, attempts, failed_at }) => ({
        job_id,
        filename,
        error,
        attempts,
        failed_at,
      })),
    ).toEqual([
      {
        job_id: 'j1',
        filename: 'clip.mp4',
        error: 'Input has no video stream',
        attempts: 1,
        failed_at: '2026-01-01T00:02:00.000Z',
      },
      {
        job_id: 'j2',
        filename: 'clip.mp4',
        error: 'FFmpeg timeout (gave up after 3 attempts)',
        attempts: 1,
        failed_at: '2026-01-01T00:02:00.000Z',
      },
    ])
    const page = DlqListSchema.parse(
      await (await app.request(`/dlq?limit=1&after=${body.entries[0]?.message_id}`)).json(),
    )
    expect(page.entries.map((e) => e.job_id)).toEqual(['j2'])
  })

  it('POST /dlq/{id}/retry queues the job once and removes the entry', async () => {
    const id = await deadLetter('j3', 'boom')
    const res = await app.request(`/dlq/${id}/retry`, { method: 'POST' })
    expect(res.status).toBe(202)
    expect(await res.json()).toEqual({
      job_id: 'j3',
      status: 'queued',
      message: 'Job queued for another attempt',
    })
    expect(await store.get('j3')).toMatchObject({ status: 'queued', attempts: 0 })
    expect((await store.deadLetters.list(10)).total).toBe(0)

    const again = await app.request(`/dlq/${id}/retry`, { method: 'POST' })
    expect(again.status).toBe(404)
    expect(await again.json()).toEqual({ error: 'not_found', message: `No dead-letter entry ${id}` })
    expect(await client.xLen(store.keys.stream)).toBe(1)
  })

  it('DELETE /dlq/{id} discards an entry', async () => {
    const id = await deadLetter('j4', 'boom')
    expect((await app.request(`/dlq/${id}`, { method: 'DELETE' })).status).toBe(204)
    expect((await app.request(`/dlq/${id}`, { method: 'DELETE' })).status).toBe(404)
    expect(await store.get('j4')).toMatchObject({ status: 'failed' })
  })

  it('takes no body on POST and DELETE: 413 past a tiny one, 408 for one that never ends', async () => {
    const id = await deadLetter('j5', 'boom')
    const big = await app.request(`/dlq/${id}/retry`, { method: 'POST', body: 'x'.repeat(4096) })
    expect(big.status).toBe(413)
    expect(await big.json()).toEqual({
      error: 'payload_too_large',
      message: 'The request body is larger than 1024 bytes',
    })
    /** A body that sends a byte and then nothing, for good. */
    const endless = () =>
      new ReadableStream<Uint8Array>({
        start: (controller) => controller.enqueue(new Uint8Array([1])),
        pull: () => new Promise<void>(() => {}),
      })
    const declared = await app.request(`/dlq/${id}`, {
      method: 'DELETE',
      body: endless(),
      headers: { 'content-length': String(10 * 1024 * 1024) },
      duplex: 'half',
    } as RequestInit)
    expect(declared.status).toBe(413)

    const quick = createApp({
      store,
      logger: createLogger({ service: 'status', level: 'silent' }),
      registry: createRegistry('status'),
      requestTimeoutMs: 200,
    })
    const started = Date.now()
    const slow = await quick.request(`/dlq/${id}/retry`, {
      method: 'POST',
      body: endless(),
      duplex: 'half',
    } as RequestInit)
    expect(slow.status).toBe(408)
    expect(await slow.json()).toEqual({
      error: 'request_timeout',
      message: 'The request took longer than 0.2s',
    })
    expect(Date.now() - started).toBeLessThan(2000)
    // None of them touched the entry.
    expect((await store.deadLetters.list(10)).entries.map((e) => e.job_id)).toEqual(['j5'])
    expect(await store.get('j5')).toMatchObject({ status: 'failed' })
  }, 10_000)

  it('answers 404 for unknown or malformed ids and 400 for bad paging', async () => {
    for (const id of ['1-0', 'abc', '1700000000000-0']) {
      expect((await app.request(`/dlq/${id}/retry`, { method: 'POST' })).status, id).toBe(404)
    }
    expect((await app.request('/dlq?limit=0')).status).toBe(400)
    expect((await app.request('/dlq?limit=abc')).status).toBe(400)
    expect((await app.request('/dlq?after=zzz')).status).toBe(400)
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

describe('API keys', () => {
  it('guards jobs, stats and the DLQ (401 JSON) but not /healthz and /metrics', async () => {
    const key = 'status-key-0123456789abcdef'
    const guarded = createApp({
      store,
      logger: createLogger({ service: 'status', level: 'silent' }),
      registry: createRegistry('status'),
      apiKeys: [key],
      signer: new MediaSigner('s'.repeat(32), 3600),
    })
    await store.create(job('k1'), undefined, await keyId(key))
    for (const [method, path] of [
      ['GET', '/jobs/k1'],
      ['GET', '/stats'],
      ['GET', '/dlq'],
      ['POST', '/dlq/1-0/retry'],
      ['DELETE', '/dlq/1-0'],
    ] as const) {
      const res = await guarded.request(path, { method })
      expect(res.status, `${method} ${path}`).toBe(401)
      expect((await res.json()).error).toBe('unauthorized')
    }
    const ok = await guarded.request('/jobs/k1', { headers: { authorization: `Bearer ${key}` } })
    expect(ok.status).toBe(200)
    expect((await guarded.request('/healthz')).status).toBe(200)
    expect((await guarded.request('/metrics')).status).toBe(200)
  })
})
