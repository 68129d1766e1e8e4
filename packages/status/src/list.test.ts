import {
  closeRedis,
  connectRedis,
  createLogger,
  createRegistry,
  JobSchema,
  JobStore,
  keyId,
  type RedisClient,
  redisKeys,
} from '@vpp/shared'
import { queuedJob, startTestRedis, type TestRedis } from '@vpp/shared/testing'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
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
  })
})

const PageSchema = z.object({ jobs: z.array(JobSchema), next_cursor: z.string().nullable() })

async function page(query: string) {
  const res = await app.request(`/jobs${query}`)
  expect(res.status, await res.clone().text()).toBe(200)
  return PageSchema.parse(await res.json())
}

/** Read the entry the stream hands out next and start its job (as a transcoder would). */
async function startNext(consumer = 't1') {
  const reply = (await client.xReadGroup(
    store.keys.group,
    consumer,
    { key: store.keys.stream, id: '>' },
    { COUNT: 1 },
  )) as Array<{ messages: Array<{ id: string; message: Record<string, string> }> }> | null
  const entry = reply?.[0]?.messages[0]
  if (!entry) throw new Error('nothing queued')
  const started = await store.start(entry.message.job_id ?? '', entry.id, consumer, new Date())
  if (!started.started) throw new Error('not started')
  return started.claim
}

describe('GET /jobs', () => {
  it('lists newest first, by status, following every state change', async () => {
    for (const id of ['a', 'b', 'c']) await store.create(queuedJob(id))
    expect((await page('')).jobs.map((j) => j.job_id)).toEqual(['c', 'b', 'a'])
    const claim = await startNext() // a
    expect((await page('?status=processing')).jobs.map((j) => j.job_id)).toEqual(['a'])
    expect((await page('?status=queued')).jobs.map((j) => j.job_id)).toEqual(['c', 'b'])
    await store.finish(claim, { status: 'failed', error: 'x', code: 'x' }, new Date())
    expect((await page('?status=failed')).jobs.map((j) => j.job_id)).toEqual(['a'])
    expect((await page('?status=processing')).jobs).toEqual([])
    const retry = await startNext() // b
    await store.retryLater(retry, 'x', 'x', new Date(), new Date())
    expect((await page('?status=retrying')).jobs.map((j) => j.job_id)).toEqual(['b'])
    const [dead] = (await store.deadLetters.list(10)).entries
    await store.deadLetters.retry(dead?.message_id ?? '', new Date())
    expect((await page('?status=queued')).jobs.map((j) => j.job_id)).toEqual(['c', 'a'])
    expect((await page('')).jobs.map((j) => j.job_id)).toEqual(['c', 'b', 'a'])
  })

  it('pages with a cursor that never repeats or skips a job while others are created', async () => {
    const before = Array.from({ length: 100 }, (_, i) => `old-${i}`)
    for (const id of before) await store.create(queuedJob(id))
    const seen: string[] = []
    let cursor: string | null = ''
    let pages = 0
    // 20 jobs created while the 5 pages are read, one between every few requests.
    const creating = (async () => {
      for (let i = 0; i < 20; i++) {
        await store.create(queuedJob(`new-${i}`))
        await new Promise((resolve) => setTimeout(resolve, 1))
      }
    })()
    while (cursor !== null) {
      const next = await page(`?limit=20${cursor ? `&cursor=${cursor}` : ''}`)
      seen.push(...next.jobs.map((j) => j.job_id))
      cursor = next.next_cursor
      pages++
    }
    await creating
    expect(new Set(seen).size).toBe(seen.length) // nothing twice
    for (const id of before) expect(seen).toContain(id) // nothing skipped
    expect(pages).toBeGreaterThanOrEqual(5)
    // Newest first throughout: old-99 ... old-0 in that order.
    const olds = seen.filter((id) => id.startsWith('old-'))
    expect(olds).toEqual([...before].reverse())
  })

  it('refuses a bad status, limit or cursor with 400', async () => {
    for (const query of ['?status=lost', '?limit=0', '?limit=101', '?limit=x', '?cursor=abc']) {
      const res = await app.request(`/jobs${query}`)
      expect(res.status, query).toBe(400)
      expect(await res.json()).toMatchObject({ error: 'bad_request' })
    }
  })
})

describe('the new job routes with API_KEYS on', () => {
  it('answer 401 without a key and work with one: list, cancel, delete', async () => {
    const key = 'k'.repeat(24)
    const guarded = createApp({
      store,
      logger: createLogger({ service: 'status', level: 'silent' }),
      registry: createRegistry('status'),
      apiKeys: [key],
      signer: new MediaSigner('s'.repeat(32), 3600),
    })
    await store.create(queuedJob('guarded'), undefined, await keyId(key))
    const routes: Array<[string, string]> = [
      ['GET', '/jobs'],
      ['POST', '/jobs/guarded/cancel'],
      ['DELETE', '/jobs/guarded'],
    ]
    for (const [method, path] of routes) {
      expect((await guarded.request(path, { method })).status, `${method} ${path}`).toBe(401)
    }
    const auth = { Authorization: `Bearer ${key}` }
    expect((await guarded.request('/jobs', { headers: auth })).status).toBe(200)
    expect((await guarded.request('/jobs/guarded/cancel', { method: 'POST', headers: auth })).status).toBe(
      202,
    )
    expect((await guarded.request('/jobs/guarded', { method: 'DELETE', headers: auth })).status).toBe(204)
  })
})
