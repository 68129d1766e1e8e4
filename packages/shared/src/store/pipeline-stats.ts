import type { Stats } from '../api/job.ts'
import type { JobStatus } from '../api/statuses.ts'
import type { RedisCalls } from '../redis/redis-calls.ts'
import type { RedisKeys } from '../redis/redis-keys.ts'

/** `processing_rate_per_minute` counts jobs finished over this window. */
export const RATE_WINDOW_MS = 5 * 60_000

/** The `/stats` numbers, from counters kept up to date by every state change (no key scan). */
export class PipelineStats {
  constructor(
    readonly redis: RedisCalls,
    readonly keys: RedisKeys,
  ) {}

  async read(now: Date): Promise<Stats> {
    const { client } = this.redis
    const k = this.keys
    // Issued in one tick, node-redis sends these as one pipeline.
    const [queueDepth, dlqDepth, total, counts, finishedRecently] = await this.redis.call(
      Promise.all([
        this.queueDepth(),
        client.xLen(k.dlq),
        client.get(k.totalJobs),
        client.hGetAll(k.statusCounts),
        client.zCount(k.finished, now.getTime() - RATE_WINDOW_MS, now.getTime()),
      ]),
    )
    const jobsByStatus: Stats['jobs_by_status'] = {}
    for (const [status, count] of Object.entries(counts)) {
      const n = Number(count)
      if (n > 0) jobsByStatus[status as JobStatus] = n
    }
    return {
      queue_depth: queueDepth,
      dlq_depth: dlqDepth,
      total_jobs: Number(total ?? 0),
      jobs_by_status: jobsByStatus,
      processing_rate_per_minute: Math.round((finishedRecently / (RATE_WINDOW_MS / 60_000)) * 100) / 100,
    }
  }

  /** Jobs waiting for a transcoder: stream entries not yet handed out. */
  async queueDepth(): Promise<number> {
    const { client } = this.redis
    const [length, pending] = await this.redis.call(
      Promise.all([client.xLen(this.keys.stream), client.xPending(this.keys.stream, this.keys.group)]),
    )
    // Settled entries are deleted, so the stream holds only waiting and in-flight entries.
    return Math.max(0, length - pending.pending)
  }

  /** Entries in the dead-letter queue. */
  dlqDepth(): Promise<number> {
    return this.redis.call(this.redis.client.xLen(this.keys.dlq))
  }
}
