import { z } from 'zod'

export const JOB_STATUSES = ['queued', 'processing', 'completed', 'failed'] as const
export const JobStatusSchema = z.enum(JOB_STATUSES)
export type JobStatus = z.infer<typeof JobStatusSchema>

export const JobSourceSchema = z.enum(['upload', 'url'])
export type JobSource = z.infer<typeof JobSourceSchema>

/** One rendition on disk, as ffprobe describes it after the transcode. */
export const OutputSchema = z.object({
  profile: z.string(),
  path: z.string(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  /** Seconds; null for still images. */
  duration: z.number().nonnegative().nullable(),
  size_bytes: z.number().int().nonnegative(),
  codec: z.string(),
})
export type Output = z.infer<typeof OutputSchema>

/** A job as stored in Redis and returned by `GET /jobs/{job_id}`. */
export const JobSchema = z.object({
  job_id: z.string(),
  filename: z.string(),
  source: JobSourceSchema,
  source_url: z.string().optional(),
  status: JobStatusSchema,
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
  attempts: z.number().int().nonnegative(),
  error: z.string().optional(),
  outputs: z.array(OutputSchema),
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
})
export type UploadUrlRequest = z.infer<typeof UploadUrlRequestSchema>

export const StatsSchema = z.object({
  queue_depth: z.number().int().nonnegative(),
  dlq_depth: z.number().int().nonnegative(),
  total_jobs: z.number().int().nonnegative(),
  jobs_by_status: z.partialRecord(JobStatusSchema, z.number().int().nonnegative()),
  processing_rate_per_minute: z.number().nonnegative(),
})
export type Stats = z.infer<typeof StatsSchema>

export const ErrorBodySchema = z.object({ error: z.string(), message: z.string() })
export type ErrorBody = z.infer<typeof ErrorBodySchema>
