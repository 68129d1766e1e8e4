import type { RedisCalls } from '../redis/redis-calls.ts'
import type { RedisKeys } from '../redis/redis-keys.ts'

/** How long a job's set of renders is kept after its last new render (then it starts afresh). */
export const RENDER_SET_TTL_MS = 30 * 86_400_000

/**
 * The distinct on-demand renders of each job (`keys.renders`: a set of their file names), for
 * the per-job cap (RENDER_MAX_PER_JOB), and the job owner a signed render request is counted to.
 */
export class RenderCounts {
  constructor(
    readonly redis: RedisCalls,
    readonly keys: RedisKeys,
  ) {}

  /**
   * Count render `name` of job `jobId` unless the job has `max` other renders already: true when
   * it may be rendered (it is counted, or was already), false past the cap (nothing counted).
   */
  async claim(jobId: string, name: string, max: number): Promise<boolean> {
    const key = this.keys.renders(jobId)
    const [added, count] = (await this.redis.call(
      this.redis.client.multi().sAdd(key, name).sCard(key).pExpire(key, RENDER_SET_TTL_MS).exec(),
    )) as [number, number, unknown]
    if (added === 0 || count <= max) return true
    await this.redis.call(this.redis.client.sRem(key, name))
    return false
  }

  /** Uncount render `name` of job `jobId` (it failed: it was never made). */
  async release(jobId: string, name: string): Promise<void> {
    await this.redis.call(this.redis.client.sRem(this.keys.renders(jobId), name))
  }

  /** The API key id owning job `jobId` (keys on), if it has one. */
  async owner(jobId: string): Promise<string | undefined> {
    return (await this.redis.call(this.redis.client.hGet(this.keys.job(jobId), 'api_client'))) ?? undefined
  }
}
