import { z } from 'zod'
import { AppError } from '../errors.ts'

/**
 * A job only moves forward: queued -> processing -> (retrying -> processing)* -> completed | failed,
 * or to canceled from any of the first three (POST /jobs/{id}/cancel), and completed -> expired
 * when its outputs are removed after OUTPUT_RETENTION_DAYS. The one way back is an operator's
 * retry from the dead-letter queue (failed -> queued).
 */
export const JOB_STATUSES = [
  'queued',
  'processing',
  'retrying',
  'completed',
  'failed',
  'canceled',
  'expired',
] as const
/** Statuses a job never leaves on its own (but for completed -> expired, by retention). */
export const FINAL_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'canceled', 'expired']
export const JobStatusSchema = z.enum(JOB_STATUSES)
export type JobStatus = z.infer<typeof JobStatusSchema>

export const JobSourceSchema = z.enum(['upload', 'url'])
export type JobSource = z.infer<typeof JobSourceSchema>

/** One rendition on disk, as ffprobe describes it after the transcode. */
/** Job ids name files, keys and routes: UUIDs in practice; letters, digits and dashes at most. */
export const JOB_ID_PATTERN = /^[A-Za-z0-9-]{1,64}$/

export const OutputSchema = z.object({
  profile: z.string(),
  /** A file path (local storage) or the object key (S3). */
  path: z.string(),
  /** Where to fetch it from (S3 storage). */
  url: z.string().optional(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  /** Seconds; null for still images. */
  duration: z.number().nonnegative().nullable(),
  size_bytes: z.number().int().nonnegative(),
  /** Bits per second over the whole file; null for still images. */
  bitrate: z.number().int().nonnegative().nullable().default(null),
  codec: z.string(),
  /** The rungs of an HLS presentation (`hls`): each variant's rendition, size and peak bits per second. */
  variants: z
    .array(
      z.object({
        profile: z.string(),
        width: z.number().int().positive(),
        height: z.number().int().positive(),
        bandwidth: z.number().int().nonnegative(),
      }),
    )
    .optional(),
})
export type Output = z.infer<typeof OutputSchema>

/** A profile not produced for this job, and why (e.g. it would upscale the source). */
export const SkippedSchema = z.object({ profile: z.string(), reason: z.string() })
export type Skipped = z.infer<typeof SkippedSchema>

/** A job as stored in Redis and returned by `GET /jobs/{job_id}`. */
export const JobSchema = z.object({
  job_id: z.string(),
  filename: z.string(),
  source: JobSourceSchema,
  source_url: z.string().optional(),
  status: JobStatusSchema,
  /** The profiles asked for this job (a subset of the table); absent: every configured one. */
  profiles: z.array(z.string()).optional(),
  /** The caller's own data, stored and returned unchanged (1 KB of JSON at most). */
  metadata: z.record(z.string(), z.unknown()).optional(),
  /** Where this job's events are sent as webhooks (besides WEBHOOK_URLS). */
  callback_url: z.string().optional(),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
  attempts: z.number().int().nonnegative(),
  /** The last error: why it failed, or why the last attempt did when it is `retrying`. */
  error: z.string().optional(),
  /** Stable code of that error (`url_not_allowed`, `download_timeout`, `invalid_input`, ...). */
  error_code: z.string().optional(),
  /** When a `retrying` job will be queued again. */
  next_attempt_at: z.iso.datetime().optional(),
  /** Percent of the transcode done (0-100) while processing; 100 once completed. */
  progress: z.number().min(0).max(100).optional(),
  /** Estimated seconds left, while processing. */
  eta_seconds: z.number().int().nonnegative().optional(),
  /** Published renditions; emptied when the job expires (its files are removed). */
  outputs: z.array(OutputSchema),
  /** When its outputs were removed (OUTPUT_RETENTION_DAYS after completion); present once `expired`. */
  expired_at: z.iso.datetime().optional(),
  /** Profiles not produced, with the reason; present once completed. */
  skipped: z.array(SkippedSchema).optional(),
  /** What a player needs, as URLs (null for what was not made); in the status API's answers. */
  playback: z
    .object({
      hls: z.string().nullable(),
      mp4: z.string().nullable(),
      thumbnail: z.string().nullable(),
      storyboard: z.string().nullable(),
    })
    .optional(),
})
export type Job = z.infer<typeof JobSchema>

/** The 202 body of `POST /upload` and `POST /upload-url` (the seed's shape, exactly). */
export const UploadResponseSchema = z.object({
  job_id: z.string(),
  filename: z.string(),
  status: z.literal('queued'),
  message: z.literal('Video uploaded and queued for processing'),
  created_at: z.iso.datetime(),
})
export type UploadResponse = z.infer<typeof UploadResponseSchema>

export const UploadUrlRequestSchema = z.object({
  url: z
    .url({ protocol: /^https?$/, error: 'url must be an absolute http:// or https:// URL' })
    .max(2048, 'url must be at most 2048 characters'),
  profiles: z.array(z.string()).optional(),
  metadata: z.unknown().optional(),
  callback_url: z.unknown().optional(),
})

/** Per-job options of the create endpoints, checked. */
export interface JobOptions {
  profiles?: string[]
  metadata?: Record<string, unknown>
  callback_url?: string
}

/** Largest `metadata`, as JSON text. */
export const MAX_METADATA_BYTES = 1024

/**
 * Per-job options of both create endpoints, checked: `profiles` a non-empty subset of the
 * profile table (an unknown name is named), `metadata` a JSON object of 1 KB at most,
 * `callback_url` an http(s) URL (its address is the caller's to check, as for URL imports).
 */
export function jobOptions(
  input: { profiles?: unknown; metadata?: unknown; callback_url?: unknown },
  known: readonly string[],
): JobOptions {
  const options: JobOptions = {}
  if (input.callback_url !== undefined) {
    const url = input.callback_url
    if (
      typeof url !== 'string' ||
      url.length > 2048 ||
      !URL.canParse(url) ||
      !/^https?:$/.test(new URL(url).protocol)
    ) {
      throw optionError('callback_url must be an absolute http:// or https:// URL of at most 2048 characters')
    }
    options.callback_url = url
  }
  if (input.profiles !== undefined) {
    const names = Array.isArray(input.profiles) ? input.profiles : String(input.profiles).split(',')
    const profiles = [...new Set(names.map((n) => String(n).trim()).filter(Boolean))]
    const unknown = profiles.filter((n) => !known.includes(n))
    if (unknown.length > 0)
      throw optionError(`unknown profile ${unknown.join(', ')}; known: ${known.join(', ')}`)
    if (profiles.length === 0) throw optionError('profiles must name at least one profile')
    options.profiles = profiles
  }
  if (input.metadata !== undefined) {
    let metadata = input.metadata
    if (typeof metadata === 'string') {
      try {
        metadata = JSON.parse(metadata)
      } catch {
        throw optionError('metadata must be JSON text of an object')
      }
    }
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
      throw optionError('metadata must be a JSON object')
    }
    if (new TextEncoder().encode(JSON.stringify(metadata)).length > MAX_METADATA_BYTES) {
      throw optionError(`metadata must be at most ${MAX_METADATA_BYTES} bytes of JSON`)
    }
    options.metadata = metadata as Record<string, unknown>
  }
  return options
}

const optionError = (message: string) => new AppError('bad_request', message, 400)
export type UploadUrlRequest = z.infer<typeof UploadUrlRequestSchema>

export const StatsSchema = z.object({
  queue_depth: z.number().int().nonnegative(),
  dlq_depth: z.number().int().nonnegative(),
  total_jobs: z.number().int().nonnegative(),
  jobs_by_status: z.partialRecord(JobStatusSchema, z.number().int().nonnegative()),
  processing_rate_per_minute: z.number().nonnegative(),
})
export type Stats = z.infer<typeof StatsSchema>

/** One entry of the dead-letter queue, as listed by `GET /dlq`. */
export const DlqEntrySchema = z.object({
  message_id: z.string(),
  job_id: z.string(),
  filename: z.string(),
  error: z.string(),
  attempts: z.number().int().nonnegative(),
  failed_at: z.iso.datetime(),
})
export type DlqEntry = z.infer<typeof DlqEntrySchema>

export const DlqListSchema = z.object({
  /** Entries in the queue in all (the list may be a page of it). */
  total: z.number().int().nonnegative(),
  entries: z.array(DlqEntrySchema),
})
export type DlqList = z.infer<typeof DlqListSchema>

export const ErrorBodySchema = z.object({ error: z.string(), message: z.string() })
export type ErrorBody = z.infer<typeof ErrorBodySchema>
