import { LeaseLock } from '../redis/lease-lock.ts'
import type { RedisCalls } from '../redis/redis-calls.ts'
import type { RedisKeys } from '../redis/redis-keys.ts'
import { eventKeys, indexPrefix } from './job-outcomes.ts'
import type { StoreScript } from './lua/index.ts'

/**
 * What retention expires, read from the sorted sets the job scripts keep (no key scan): finished
 * jobs by when they finished (JOB_RETENTION_DAYS; the records go through `JobStore.expireRecord`)
 * and completed jobs by when they completed (OUTPUT_RETENTION_DAYS; their outputs go here).
 */
export class Retention {
  constructor(
    readonly redis: RedisCalls<StoreScript>,
    readonly keys: RedisKeys,
  ) {}

  /** Up to `limit` finished jobs, oldest first, that finished at or before `cutoff`. */
  finishedBefore(cutoff: Date, limit: number): Promise<string[]> {
    return this.#before(this.keys.retention, cutoff, limit)
  }

  /** Up to `limit` completed jobs, oldest first, that completed at or before `cutoff`. */
  completedBefore(cutoff: Date, limit: number): Promise<string[]> {
    return this.#before(this.keys.outputRetention, cutoff, limit)
  }

  #before(key: string, cutoff: Date, limit: number): Promise<string[]> {
    return this.redis.call(
      this.redis.client.zRange(key, '-inf', cutoff.getTime(), {
        BY: 'SCORE',
        LIMIT: { offset: 0, count: limit },
      }),
    )
  }

  /**
   * completed -> expired (outputs emptied, `expired_at` set), if it is still completed and
   * completed at or before `cutoff`; its id then waits in `keys.expiredOutputs` until
   * `outputsRemoved`. Returns whether it expired now.
   */
  async expireOutputs(jobId: string, cutoff: Date, now: Date): Promise<boolean> {
    const k = this.keys
    const expired = await this.redis.script(
      'expireOutputs',
      [k.job(jobId), k.statusCounts, k.outputRetention, k.expiredOutputs, ...eventKeys(k)],
      [jobId, String(cutoff.getTime()), now.toISOString(), indexPrefix(k)],
    )
    return expired === 1
  }

  /** Up to `limit` expired jobs whose outputs are still to be removed (left in the set until `outputsRemoved`). */
  outputsToRemove(limit: number): Promise<string[]> {
    return this.redis.call(this.redis.client.sRandMemberCount(this.keys.expiredOutputs, limit))
  }

  /** These jobs' outputs are gone. */
  async outputsRemoved(jobIds: string[]): Promise<void> {
    if (jobIds.length > 0) await this.redis.call(this.redis.client.sRem(this.keys.expiredOutputs, jobIds))
  }

  /**
   * Folders of job `jobId`'s outputs to remove at `due`: what its stream was published in while it
   * was encoded, kept for the players that started on it.
   */
  async keepUntil(jobId: string, folders: readonly string[], due: Date): Promise<void> {
    const member = JSON.stringify({ job: jobId, folders })
    await this.redis.call(
      this.redis.client.zAdd(this.keys.leftovers, { score: due.getTime(), value: member }),
    )
  }

  /** Up to `limit` folders due for removal at `now`, oldest first (left in the set until `leftoversRemoved`). */
  async leftoversDue(
    now: Date,
    limit: number,
  ): Promise<Array<{ job: string; folders: string[]; member: string }>> {
    const members = await this.#before(this.keys.leftovers, now, limit)
    return members.map((member) => ({
      ...(JSON.parse(member) as { job: string; folders: string[] }),
      member,
    }))
  }

  /** These leftovers are gone. */
  async leftoversRemoved(members: string[]): Promise<void> {
    if (members.length > 0) await this.redis.call(this.redis.client.zRem(this.keys.leftovers, members))
  }

  /** The lock one sweeper holds at a time (`{prefix}:lock:retention`), with a lease of `leaseMs`. */
  lock(leaseMs: number): LeaseLock {
    return new LeaseLock(this.redis, this.keys.lock('retention'), leaseMs)
  }
}
