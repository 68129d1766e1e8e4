import type { DlqEntry, DlqList } from '../api/job.ts'
import type { RedisCalls } from '../redis/redis-calls.ts'
import type { RedisKeys } from '../redis/redis-keys.ts'
import { toDlqEntry } from './job-hash.ts'
import { eventKeys, indexPrefix } from './job-outcomes.ts'
import type { StoreScript } from './lua/index.ts'

/** The dead-letter queue: jobs that failed for good, until an operator retries or discards them. */
export class DeadLetters {
  constructor(
    readonly redis: RedisCalls<StoreScript>,
    readonly keys: RedisKeys,
  ) {}

  /** Entries, oldest first, after `after` (exclusive) when given. */
  async list(limit: number, after?: string): Promise<DlqList> {
    const { client } = this.redis
    const start = after ? `(${after}` : '-'
    const [total, entries] = await this.redis.call(
      Promise.all([client.xLen(this.keys.dlq), client.xRange(this.keys.dlq, start, '+', { COUNT: limit })]),
    )
    return { total, entries: entries.map((e) => toDlqEntry(e.id, e.message as Record<string, string>)) }
  }

  async get(messageId: string): Promise<DlqEntry | null> {
    const [entry] = await this.redis.call(this.redis.client.xRange(this.keys.dlq, messageId, messageId))
    return entry ? toDlqEntry(entry.id, entry.message as Record<string, string>) : null
  }

  /**
   * Replay a dead-lettered job: `queued` with attempts reset, the entry removed, atomically.
   * Returns the job id, or null when there is no such entry (or its job is no longer failed).
   */
  async retry(messageId: string, now: Date): Promise<string | null> {
    const entry = await this.get(messageId)
    if (!entry) return null
    const k = this.keys
    const queued = await this.redis.script(
      'retryDeadLetter',
      [k.dlq, k.job(entry.job_id), k.statusCounts, k.stream, k.entries, k.retention, ...eventKeys(k)],
      [messageId, entry.job_id, now.toISOString(), indexPrefix(k)],
    )
    return queued === 1 ? entry.job_id : null
  }

  /**
   * Discard an entry (the job stays `failed`) and mark its kept upload for removal (see
   * takeDiscardedUploads). Returns the job id, or null when there was no such entry.
   */
  async delete(messageId: string): Promise<string | null> {
    const jobId = await this.redis.script(
      'discardDeadLetter',
      [this.keys.dlq, this.keys.discardedUploads],
      [messageId],
    )
    return typeof jobId === 'string' ? jobId : null
  }

  /** Up to `count` job ids whose uploads are to be removed, taken off the set (SPOP). */
  async takeDiscardedUploads(count: number): Promise<string[]> {
    return this.redis.call(this.redis.client.sPopCount(this.keys.discardedUploads, count))
  }

  /** Put ids back whose uploads could not be removed this time. */
  async returnDiscardedUploads(jobIds: string[]): Promise<void> {
    if (jobIds.length > 0) await this.redis.call(this.redis.client.sAdd(this.keys.discardedUploads, jobIds))
  }
}
