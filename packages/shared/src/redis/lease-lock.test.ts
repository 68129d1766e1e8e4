import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../logger.ts'
import { startTestRedis, type TestRedis } from '../testing/redis.ts'
import { LeaseLock } from './lease-lock.ts'
import { closeRedis, connectRedis, type RedisClient } from './redis.ts'
import { RedisCalls } from './redis-calls.ts'
import { redisKeys } from './redis-keys.ts'

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

describe('LeaseLock', () => {
  it('has one holder at a time; the lease runs out if the holder dies; release never frees another holder', async () => {
    const keys = redisKeys(redis.prefix())
    const key = keys.lock('retention')
    const lock = () => new LeaseLock(new RedisCalls(client, 5000), key, 300)
    const [a, b] = [lock(), lock()]
    const taken = await Promise.all([a.acquire(), b.acquire()])
    expect(taken.filter(Boolean)).toHaveLength(1)
    const [holder, other] = taken[0] ? [a, b] : [b, a]
    expect(await other.acquire()).toBe(false)
    expect(await holder.extend()).toBe(true)

    // The holder "dies" (never releases): the lease runs out and the other takes the lock.
    await new Promise((resolve) => setTimeout(resolve, 400))
    expect(await other.acquire()).toBe(true)
    // The first holder, back late, can neither extend nor release the new holder's lock.
    expect(await holder.extend()).toBe(false)
    expect(await holder.release()).toBe(false)
    expect(await client.exists(key)).toBe(1)
    expect(await holder.acquire()).toBe(false)

    expect(await other.release()).toBe(true)
    expect(await client.exists(key)).toBe(0)
    expect(await holder.acquire()).toBe(true)
  })
})
