import type { Output } from './job.ts'

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
