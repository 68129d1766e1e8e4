import type { Caption } from '../api/job.ts'
import { LeaseLock } from '../redis/lease-lock.ts'
import type { RedisCalls } from '../redis/redis-calls.ts'
import type { RedisKeys } from '../redis/redis-keys.ts'
import type { StoreScript } from './lua/index.ts'

/** Why captions-1.lua changed nothing: no job, not completed (`detail`: its status), too many tracks, a taken label, no such track. */
export type CaptionRefusal = 'missing' | 'status' | 'full' | 'duplicate' | 'absent'

export type CaptionChange =
  | { ok: true; captions: Caption[] }
  | { ok: false; reason: CaptionRefusal; detail: string }

/**
 * A completed job's caption tracks (`captions` on its record), changed one at a time by
 * captions-1.lua. The files and the HLS master that go with them are status's to write, under
 * `lock(jobId)`, so two changes never interleave their master rewrites.
 */
export class JobCaptions {
  constructor(
    readonly redis: RedisCalls<StoreScript>,
    readonly keys: RedisKeys,
  ) {}

  /** Add `caption` to job `jobId`'s tracks, if it is completed, has fewer than `max` and none with its label. */
  add(jobId: string, caption: Caption, max: number, now: Date): Promise<CaptionChange> {
    return this.#change(jobId, ['add', JSON.stringify(caption), String(max), now.toISOString()])
  }

  /** Remove track `captionId` of job `jobId`, if it is completed and has it. */
  remove(jobId: string, captionId: string, now: Date): Promise<CaptionChange> {
    return this.#change(jobId, ['remove', captionId, '0', now.toISOString()])
  }

  async #change(jobId: string, args: string[]): Promise<CaptionChange> {
    const [code, value] = (await this.redis.script('captions', [this.keys.job(jobId)], args)) as [
      string,
      string,
    ]
    if (code === 'ok') return { ok: true, captions: JSON.parse(value) as Caption[] }
    return { ok: false, reason: code as CaptionRefusal, detail: value }
  }

  /** The lock of job `jobId`'s caption changes (`{prefix}:lock:captions:{job_id}`), with a lease of `leaseMs`. */
  lock(jobId: string, leaseMs: number): LeaseLock {
    return new LeaseLock(this.redis, this.keys.lock(`captions:${jobId}`), leaseMs)
  }
}
