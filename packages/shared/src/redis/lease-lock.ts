import type { RedisCalls } from './redis-calls.ts'

/**
 * A lock with a lease (Redis's single-instance lock pattern): `SET key token NX PX lease` to take
 * it, compare-and-delete to release it, compare-and-PEXPIRE to extend it. A holder that dies
 * without releasing it loses it when the lease runs out; one whose lease ran out can neither
 * release nor extend the next holder's. One object, one holder at a time: each acquire draws a
 * new token.
 */
export class LeaseLock {
  #token: string | null = null

  constructor(
    readonly redis: RedisCalls,
    readonly key: string,
    readonly leaseMs: number,
  ) {}

  /** Take the lock if nobody holds it. */
  async acquire(): Promise<boolean> {
    const token = crypto.randomUUID()
    const reply = await this.redis.call(
      this.redis.client.set(this.key, token, {
        condition: 'NX',
        expiration: { type: 'PX', value: this.leaseMs },
      }),
    )
    this.#token = reply === 'OK' ? token : null
    return this.#token !== null
  }

  /** A new full lease, if the lock is still ours. False: lost (the lease ran out first). */
  async extend(): Promise<boolean> {
    if (this.#token === null) return false
    const extended = await this.redis.script('extendLock', [this.key], [this.#token, String(this.leaseMs)])
    if (extended !== 1) this.#token = null
    return extended === 1
  }

  /** Give the lock up, if it is still ours (never someone else's). */
  async release(): Promise<boolean> {
    const token = this.#token
    if (token === null) return false
    this.#token = null
    return (await this.redis.script('releaseLock', [this.key], [token])) === 1
  }
}
