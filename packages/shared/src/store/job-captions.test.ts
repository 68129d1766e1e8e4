import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../logger.ts'
import { closeRedis, connectRedis, type RedisClient } from '../redis/redis.ts'
import { redisKeys } from '../redis/redis-keys.ts'
import { queuedJob, takeJob } from '../testing/jobs.ts'
import { startTestRedis, type TestRedis } from '../testing/redis.ts'
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

const NOW = new Date('2026-01-02T00:00:00Z')
const track = (n: number, label = `Track ${n}`) => ({
  caption_id: `cap_${n}`,
  language: 'en',
  label,
  created_at: NOW.toISOString(),
})

async function completedStore() {
  const store = new JobStore(client, redisKeys(redis.prefix()))
  await store.group.ensure()
  await store.create(queuedJob('done'))
  await store.finish(await takeJob(store), { status: 'completed', outputs: [] }, NOW)
  await store.create(queuedJob('waiting'))
  return store
}

describe('JobStore.captions', () => {
  it('adds and removes tracks of a completed job, on its record', async () => {
    const store = await completedStore()
    expect(await store.captions.add('done', track(1), 20, NOW)).toEqual({ ok: true, captions: [track(1)] })
    expect(await store.captions.add('done', track(2), 20, NOW)).toEqual({
      ok: true,
      captions: [track(1), track(2)],
    })
    expect((await store.get('done'))?.captions).toEqual([track(1), track(2)])
    expect(await store.captions.remove('done', 'cap_1', NOW)).toEqual({ ok: true, captions: [track(2)] })
    expect(await store.captions.remove('done', 'cap_2', NOW)).toEqual({ ok: true, captions: [] })
    expect((await store.get('done'))?.captions).toBeUndefined()
  })

  it('refuses: no job, not completed, full, a taken label, an unknown track', async () => {
    const store = await completedStore()
    expect(await store.captions.add('nope', track(1), 20, NOW)).toEqual({
      ok: false,
      reason: 'missing',
      detail: '',
    })
    expect(await store.captions.add('waiting', track(1), 20, NOW)).toEqual({
      ok: false,
      reason: 'status',
      detail: 'queued',
    })
    await store.captions.add('done', track(1), 2, NOW)
    expect(await store.captions.add('done', track(2, 'Track 1'), 2, NOW)).toEqual({
      ok: false,
      reason: 'duplicate',
      detail: 'cap_1',
    })
    await store.captions.add('done', track(2), 2, NOW)
    expect(await store.captions.add('done', track(3), 2, NOW)).toEqual({
      ok: false,
      reason: 'full',
      detail: '2',
    })
    expect(await store.captions.remove('done', 'cap_9', NOW)).toEqual({
      ok: false,
      reason: 'absent',
      detail: 'cap_9',
    })
    expect((await store.get('done'))?.captions).toEqual([track(1), track(2)])
  })

  it('drops the tracks when the outputs expire (their files go with the folder)', async () => {
    const store = await completedStore()
    await store.captions.add('done', track(1), 20, NOW)
    expect(await store.retention.expireOutputs('done', NOW, NOW)).toBe(true)
    expect(await store.get('done')).toMatchObject({ status: 'expired', captions: undefined })
    expect(await store.captions.add('done', track(2), 20, NOW)).toEqual({
      ok: false,
      reason: 'status',
      detail: 'expired',
    })
  })

  it('holds one lock a job', async () => {
    const store = await completedStore()
    const first = store.captions.lock('done', 5000)
    const second = store.captions.lock('done', 5000)
    expect(await first.acquire()).toBe(true)
    expect(await second.acquire()).toBe(false)
    expect(await store.captions.lock('other', 5000).acquire()).toBe(true)
    await first.release()
    expect(await second.acquire()).toBe(true)
  })
})
