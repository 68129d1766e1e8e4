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
  OriginalLink,
  Output,
  Stats,
  UploadResponse,
  WatermarkCreated,
  WatermarkList,
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
  /** Transcode only this range of the video, in seconds. */
  clip?: { start: number; end: number }
  /**
   * A watermark over every video rendition: `image` a stored image's id (`addWatermark`), else
   * the key's default; `position`, `width` and `margin` as fractions of the video's width.
   */
  watermark?: {
    image?: string
    position?: 'top-left' | 'top-right' | 'bottom-left' | 'bottom-right' | 'center'
    width?: number
    margin?: number
  }
  /** Normalise the audio to -16 LUFS integrated (EBU R128). */
  normalizeAudio?: boolean
  /** Makes a retried create safe: the same key within 24 hours answers the first job. */
  idempotencyKey?: string
}
