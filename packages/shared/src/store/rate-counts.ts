import type { RedisCalls } from '../redis/redis-calls.ts'
import type { RedisKeys } from '../redis/redis-keys.ts'

/** Per-client counts in fixed one-minute windows (`keys.rate`), for the creation rate limit. */
export class RateCounts {
  constructor(
    readonly redis: RedisCalls,
    readonly keys: RedisKeys,
  ) {}

  /**
   * Count one more for `clientId` in minute `window`, the count kept `ttlMs` (past the window's
   * end); the count so far, this one included.
   */
  async add(clientId: string, window: number, ttlMs: number): Promise<number> {
    const key = this.keys.rate(clientId, window)
    const [count] = (await this.redis.call(
      this.redis.client.multi().incr(key).pExpire(key, ttlMs).exec(),
    )) as [number, unknown]
    return count
  }
}
