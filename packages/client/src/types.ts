/**
 * What the API answers, as the contract's zod schemas (`@vpp/shared/api`) infer it. Type-only
 * imports: no schema (nor zod) is loaded at run time, so the client stays small for a browser and
 * quick to start in the CLI; the few values it needs come from `@vpp/shared/api/constants`.
 */
import type { DlqRetryResponse, JobEventData, JobStatus } from '@vpp/shared/api'

export type {
  CancelResponse,
  Caption,
  CaptionList,
  DlqEntry,
  DlqList,
  EventType,
  Job,
  JobPage,
  JobStatus,
  Output,
  Stats,
  UploadResponse,
} from '@vpp/shared/api'

/** `POST /dlq/{message_id}/retry`'s 202. */
export type RetryResponse = DlqRetryResponse

/**
 * One event of `GET /jobs/{id}/events`: its `data` (the contract's JobEventData: the log entry
 * without its owner and webhook target, and on `job.completed` the media URLs of
 * `GET /jobs/{id}`; on `job.playable`, `playback` with the HLS master's URL alone) with the SSE
 * `id:` it came with. `status` is `deleted` on `job.deleted`.
 */
export type JobStreamEvent = Omit<JobEventData, 'status'> & {
  /** The SSE `id:`: the log entry's id, what `lastEventId` resumes after. */
  id: string
  status: JobStatus | 'deleted'
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
