import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../logger.ts'
import { startTestRedis, type TestRedis } from '../testing/redis.ts'
import { closeRedis, connectRedis, type RedisClient, RedisTimeoutError } from './redis.ts'
import { RedisCalls } from './redis-calls.ts'

let redis: TestRedis
let client: RedisClient

beforeAll(async () => {
  redis = await startTestRedis()
  client = await connectRedis(redis.url, createLogger({ service: 'test', level: 'silent' }), {
    commandTimeoutMs: 0,
  })
})
afterAll(async () => {
  redis.thaw()
  await closeRedis(client)
  await redis.stop()
})

describe('RedisCalls', () => {
  it('fails a command Redis does not answer within the deadline, and answers later ones in order', async () => {
    const calls = new RedisCalls(client, 200)
    expect(await calls.call(client.ping())).toBe('PONG')
    redis.freeze()
    const started = performance.now()
    const frozen = calls.call(client.set('k', 'written while frozen'))
    await expect(frozen).rejects.toBeInstanceOf(RedisTimeoutError)
    const waited = performance.now() - started
    expect(waited).toBeGreaterThanOrEqual(190)
    expect(waited).toBeLessThan(1000)
    redis.thaw()
    // The command that timed out still ran: its write is there, and replies kept their order.
    expect(await calls.call(client.get('k'))).toBe('written while frozen')
  })
  it('runs its scripts by SHA, and sends the source again once Redis has lost it (SCRIPT FLUSH)', async () => {
    const calls = new RedisCalls(client, 0)
    await client.set('lock', 'mine')
    expect(await calls.script('extendLock', ['lock'], ['other', '1000'])).toBe(0)
    await client.scriptFlush()
    // Its SHA is known but Redis has no such script now: NOSCRIPT, then the source.
    expect(await calls.script('extendLock', ['lock'], ['mine', '1000'])).toBe(1)
    expect(await calls.script('releaseLock', ['lock'], ['mine'])).toBe(1)
    expect(await client.exists('lock')).toBe(0)
  })
})
