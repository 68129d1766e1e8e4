/**
 * What the API answers, as the shared zod schemas infer it. Type-only imports: nothing of
 * `@vpp/shared` (Redis, S3, prom-client) is loaded at run time, so the client stays small enough
 * for a browser and quick to start in the CLI.
 */
import type { EventType, Job, JobEvent, JobStatus } from '@vpp/shared'

export type { DlqEntry, DlqList, EventType, Job, JobStatus, Output, Stats, UploadResponse } from '@vpp/shared'

/** One page of `GET /jobs`, newest first; `next_cursor` is null on the last page. */
export interface JobPage {
  jobs: Job[]
  next_cursor: string | null
}

/** `POST /jobs/{id}/cancel`'s 202. */
export interface CancelResponse {
  job_id: string
  status: 'canceled'
}

/** `POST /dlq/{message_id}/retry`'s 202. */
export interface RetryResponse {
  job_id: string
  status: 'queued'
  message: string
}

/**
 * One event of `GET /jobs/{id}/events`: its `data` (the log entry without its owner and webhook
 * target) with the SSE `id:` it came with, and on `job.completed` the media URLs of
 * `GET /jobs/{id}`; on `job.playable` (a job transcoded in chunks, still processing) `playback`
 * with the HLS master's URL alone. `status` is `deleted` on `job.deleted`.
 */
export type JobStreamEvent = Omit<JobEvent, 'client' | 'callback_url' | 'type' | 'status'> & {
  type: EventType
  status: JobStatus | 'deleted'
  playback?: Job['playback']
}

/** Per-job options of both create endpoints. */
export interface JobOptions {
  /** A subset of the profile table; absent: every configured one. */
  profiles?: string[]
  /** Your own JSON object (1 KB at most), returned unchanged with the job. */
  metadata?: Record<string, unknown>
  /** Where this job's events are sent as webhooks. */
  callbackUrl?: string
  /** Makes a retried create safe: the same key within 24 hours answers the first job. */
  idempotencyKey?: string
}
