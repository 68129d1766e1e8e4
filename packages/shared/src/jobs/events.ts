import type { RedisClient } from '../redis/redis.ts'
import type { RedisKeys } from '../redis/redis-keys.ts'
import type { Output } from './job.ts'
import type { RedisCalls } from './redis-calls.ts'

/**
 * What the event log says happened, one type per state change (and progress, and the moment a
 * job transcoded in chunks has a playable HLS stream: `job.playable`, while still processing).
 */
export const EVENT_TYPES = [
  'job.queued',
  'job.processing',
  'job.progress',
  'job.playable',
  'job.retrying',
  'job.completed',
  'job.failed',
  'job.canceled',
  'job.expired',
  'job.deleted',
] as const
export type EventType = (typeof EVENT_TYPES)[number]

/** After these a job's own event stream ends. */
export const FINAL_EVENTS: ReadonlySet<string> = new Set([
  'job.completed',
  'job.failed',
  'job.canceled',
  'job.deleted',
])

/** One entry of the event log, as the Lua step that made the change wrote it. */
export interface JobEvent {
  /** The stream entry id: what `Last-Event-ID` and deliveries name it by. */
  id: string
  type: EventType
  job_id: string
  /** The status it reports (`deleted` for job.deleted). */
  status: string
  /** When it happened (the entry id's time, Redis's clock). */
  at: string
  /** The id of the API key owning the job, when keys are on. */
  client?: string
  /** The job's own webhook, when it has one. */
  callback_url?: string
  progress?: number
  eta_seconds?: number
  error?: string
  error_code?: string
  next_attempt_at?: string
  outputs?: Output[]
}

/** Stream entry ids compared as (ms, seq) pairs. */
export function compareIds(a: string, b: string): number {
  const [am = 0n, as = 0n] = a.split('-').map(BigInt)
  const [bm = 0n, bs = 0n] = b.split('-').map(BigInt)
  return am === bm ? Number(as - bs) : am < bm ? -1 : 1
}

/** A stream entry id (`<ms>-<seq>`), as `Last-Event-ID` carries it. */
export const EVENT_ID = /^\d{1,20}-\d{1,20}$/

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
