import type { EventType, JobEvent } from '../api/events.ts'
import type { RedisClient } from '../redis/redis.ts'
import type { RedisCalls } from '../redis/redis-calls.ts'
import type { RedisKeys } from '../redis/redis-keys.ts'

/** An event log entry's fields as a JobEvent. */
export function toEvent(id: string, fields: Record<string, string>): JobEvent {
  const event: JobEvent = {
    id,
    type: fields.type as EventType,
    job_id: fields.job_id ?? '',
    status: fields.status ?? '',
    at: new Date(Number(id.split('-')[0])).toISOString(),
  }
  if (fields.api_client) event.client = fields.api_client
  if (fields.callback_url) event.callback_url = fields.callback_url
  if (fields.progress !== undefined) event.progress = Number(fields.progress)
  if (fields.eta_seconds !== undefined) event.eta_seconds = Number(fields.eta_seconds)
  if (fields.error !== undefined) event.error = fields.error
  if (fields.error_code !== undefined) event.error_code = fields.error_code
  if (fields.next_attempt_at !== undefined) event.next_attempt_at = fields.next_attempt_at
  if (fields.outputs !== undefined) event.outputs = JSON.parse(fields.outputs)
  return event
}

/**
 * The job event log (`keys.events`): a capped stream the job scripts append to in the same step
 * as each change. Read here by range (replay, resume) and by blocking reads (live).
 */
export class EventLog {
  constructor(
    readonly redis: RedisCalls,
    readonly keys: RedisKeys,
  ) {}

  /**
   * Up to `count` events after `after` (exclusive, or from it with `inclusive`; `-` for the oldest
   * kept), oldest first.
   */
  async after(after: string, count: number, inclusive = false): Promise<JobEvent[]> {
    const start = after === '-' || inclusive ? after : `(${after}`
    const entries = await this.redis.call(
      this.redis.client.xRange(this.keys.events, start, '+', { COUNT: count }),
    )
    return entries.map((entry) => toEvent(entry.id, entry.message))
  }

  /** The newest entry's id, or `0-0` when the log is empty. */
  async lastId(): Promise<string> {
    const [last] = await this.redis.call(
      this.redis.client.xRevRange(this.keys.events, '+', '-', { COUNT: 1 }),
    )
    return last?.id ?? '0-0'
  }

  /**
   * Wait up to `blockMs` for events after `after`, on `client`: a connection of its own (a
   * blocking read holds its connection). Empty when none came.
   */
  async waitAfter(client: RedisClient, after: string, blockMs: number, count = 1000): Promise<JobEvent[]> {
    const reply = (await client.xRead(
      { key: this.keys.events, id: after },
      { BLOCK: blockMs, COUNT: count },
    )) as Array<{ messages: Array<{ id: string; message: Record<string, string> }> }> | null
    return (reply?.[0]?.messages ?? []).map((entry) => toEvent(entry.id, entry.message))
  }
}
