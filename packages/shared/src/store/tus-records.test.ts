import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../logger.ts'
import { closeRedis, connectRedis, type RedisClient } from '../redis/redis.ts'
import { RedisCalls } from '../redis/redis-calls.ts'
import { redisKeys } from '../redis/redis-keys.ts'
import { startTestRedis, type TestRedis } from '../testing/redis.ts'
import { TUS_DONE_TTL_SECONDS, TusRecords } from './tus-records.ts'

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

const fresh = () => {
  const keys = redisKeys(redis.prefix())
  return { keys, records: new TusRecords(new RedisCalls(client, 5000), keys) }
}
const PENDING = { owner: 'key-1', filename: 'clip.mp4', options: '{"profiles":["360p"]}', idempotency: '' }

describe('TusRecords', () => {
  it('keeps a pending upload until it expires, then, finished, its size for a day', async () => {
    const { keys, records } = fresh()
    await records.create('u1', PENDING, 7200)
    expect(await records.pending('u1')).toEqual(PENDING)
    expect(await records.state('u1')).toEqual({ owner: 'key-1', done: false, size: null })
    const ttl = await client.ttl(keys.tusUpload('u1'))
    expect(ttl).toBeGreaterThan(7100)
    expect(ttl).toBeLessThanOrEqual(7200)
    // No Idempotency-Key: no key's record.
    expect(await client.keys(keys.idempotency('*'))).toEqual([])

    await records.finished('u1', 1234)
    expect(await records.state('u1')).toEqual({ owner: 'key-1', done: true, size: '1234' })
    expect(await client.ttl(keys.tusUpload('u1'))).toBeGreaterThan(TUS_DONE_TTL_SECONDS - 100)
  })

  it('answers a missing upload with no owner, and forgets an abandoned one', async () => {
    const { records } = fresh()
    expect(await records.state('none')).toEqual({ owner: null, done: false, size: null })
    expect(await records.pending('none')).toEqual({})
    await records.create('u2', { ...PENDING, owner: '' }, 60)
    expect(await records.state('u2')).toEqual({ owner: '', done: false, size: null })
    await records.remove('u2')
    expect(await records.state('u2')).toEqual({ owner: null, done: false, size: null })
  })

  it("names the first upload of an Idempotency-Key for a day, apart from the jobs' keys", async () => {
    const { keys, records } = fresh()
    expect(await records.idempotentUpload('key-1:order-7')).toBeNull()
    await records.create('u3', { ...PENDING, idempotency: 'key-1:order-7' }, 60)
    expect(await records.idempotentUpload('key-1:order-7')).toBe('u3')
    expect(await client.get(keys.idempotency('tus:key-1:order-7'))).toBe('u3')
    expect(await client.get(keys.idempotency('key-1:order-7'))).toBeNull()
    const ttl = await client.ttl(keys.idempotency('tus:key-1:order-7'))
    expect(ttl).toBeGreaterThan(24 * 3600 - 100)
  })

  it('publishes a release request on the release channel, as JSON', async () => {
    const { keys, records } = fresh()
    const subscriber = await connectRedis(redis.url, createLogger({ service: 'test', level: 'silent' }))
    try {
      const heard = new Promise<string>((resolve) => {
        void subscriber.subscribe(keys.tusReleaseChannel, resolve)
      })
      // Subscribed before it is sent: wait until the server counts the subscriber.
      while ((await records.askRelease({ id: 'u4', by: 'lock-a' })) === 0) {
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      expect(JSON.parse(await heard)).toEqual({ id: 'u4', by: 'lock-a' })
    } finally {
      await closeRedis(subscriber)
    }
  })
})
