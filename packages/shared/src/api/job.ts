import { z } from 'zod'
import {
  DLQ_ENTRY_EXAMPLE,
  DLQ_LIST_EXAMPLE,
  ERROR_BODY_EXAMPLE,
  JOB_EXAMPLE,
  OUTPUT_EXAMPLE,
  PLAYABLE_JOB_EXAMPLE,
  STATS_EXAMPLE,
  UPLOAD_RESPONSE_EXAMPLE,
  UPLOAD_URL_REQUEST_EXAMPLE,
} from './examples.ts'
import { ClipSchema, WatermarkSchema } from './job-options.ts'
import { JOB_STATUSES } from './statuses.ts'

export const JobStatusSchema = z.enum(JOB_STATUSES)

export const JobSourceSchema = z.enum(['upload', 'url'])
export type JobSource = z.infer<typeof JobSourceSchema>

/** Job ids name files, keys and routes: UUIDs in practice; letters, digits and dashes at most. */
export const JOB_ID_PATTERN = /^[A-Za-z0-9-]{1,64}$/

// Field descriptions are `.describe()`d rather than commented: the OpenAPI document shows them.

/** One rendition on disk, as ffprobe describes it after the transcode. */
export const OutputSchema = z
  .object({
    profile: z.string(),
    path: z.string().describe('A file path (local storage) or the object key (S3)'),
    url: z.string().optional().describe('Where to fetch it from (a /media URL, or S3)'),
    width: z.number().int().positive().nullable().describe('Pixels; null for audio (`audio`)'),
    height: z.number().int().positive().nullable().describe('Pixels; null for audio (`audio`)'),
    duration: z.number().nonnegative().nullable().describe('Seconds; null for still images'),
    size_bytes: z.number().int().nonnegative(),
    bitrate: z
      .number()
      .int()
      .nonnegative()
      .nullable()
      .default(null)
      .describe('Bits per second over the whole file; null for still images'),
    codec: z.string(),
    ssim: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe(
        "Video renditions: SSIM against the source, 0 to 1 (identical), the mean over a sample of 1 % of the frames in runs of 4, evenly spread: an estimate, within about 0.01 of the whole video's. Each frame against the source's at the same time scaled to the rendition's size (bicubic), luma and chroma together (ffmpeg's `ssim`, `All`)",
      ),
    variants: z
      .array(
        z.object({
          profile: z.string(),
          width: z.number().int().positive(),
          height: z.number().int().positive(),
          bandwidth: z.number().int().nonnegative(),
        }),
      )
      .optional()
      .describe(
        "The rungs of an HLS presentation (`hls`): each variant's rendition, size and peak bits per second",
      ),
  })
  .meta({ id: 'Output', examples: [OUTPUT_EXAMPLE] })
export type Output = z.infer<typeof OutputSchema>

/** A profile not produced for this job, and why (e.g. it would upscale the source). */
export const SkippedSchema = z.object({ profile: z.string(), reason: z.string() })
export type Skipped = z.infer<typeof SkippedSchema>

/** A caption track added to a completed job (`POST /jobs/{job_id}/captions`). */
export const CaptionSchema = z
  .object({
    caption_id: z.string(),
    language: z.string().describe('BCP 47 language tag (`en`, `pt-BR`)'),
    label: z.string().describe("The track's name in a player's menu"),
    created_at: z.iso.datetime(),
    url: z.string().optional().describe("The WebVTT file (a /media URL, or S3), in the status API's answers"),
  })
  .meta({ id: 'Caption' })
export type Caption = z.infer<typeof CaptionSchema>

/** A job as stored in Redis and returned by `GET /jobs/{job_id}`. */
export const JobSchema = z
  .object({
    job_id: z.string(),
    filename: z.string(),
    source: JobSourceSchema,
    source_url: z.string().optional(),
    status: JobStatusSchema,
    profiles: z
      .array(z.string())
      .optional()
      .describe('The profiles asked for this job (a subset of the table); absent: every configured one'),
    metadata: z
      .record(z.string(), z.unknown())
      .optional()
      .describe("The caller's own data, stored and returned unchanged (1 KB of JSON at most)"),
    callback_url: z
      .string()
      .optional()
      .describe("Where this job's events are sent as webhooks (besides WEBHOOK_URLS)"),
    clip: ClipSchema.optional(),
    watermark: WatermarkSchema.optional(),
    normalize_audio: z
      .boolean()
      .optional()
      .describe('Audio normalised to -16 LUFS integrated (EBU R128, two passes)'),
    captions: z.array(CaptionSchema).optional().describe('Caption tracks, in the HLS master as SUBTITLES'),
    original: z
      .enum(['kept', 'removed'])
      .optional()
      .describe(
        'Whether the upload is kept (`GET /jobs/{job_id}/original`): KEEP_ORIGINALS, until retention removes it',
      ),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
    attempts: z.number().int().nonnegative(),
    error: z
      .string()
      .optional()
      .describe(
        'The last error: why it failed, why the last attempt did when it is `retrying`, or why a sick transcoder handed it back when it is `queued` again',
      ),
    error_code: z
      .string()
      .optional()
      .describe('Stable code of that error (`url_not_allowed`, `download_timeout`, `invalid_input`, ...)'),
    next_attempt_at: z.iso.datetime().optional().describe('When a `retrying` job will be queued again'),
    progress: z
      .number()
      .min(0)
      .max(100)
      .optional()
      .describe('Percent of the transcode done (0-100) while processing; 100 once completed'),
    eta_seconds: z
      .number()
      .int()
      .nonnegative()
      .optional()
      .describe('Estimated seconds left, while processing'),
    playable_at: z.iso
      .datetime()
      .optional()
      .describe(
        'When its HLS stream became playable: the first segment of every rung published while it is still `processing` (a job transcoded in chunks, before `completed`); absent until then, and for a job whose stream was published whole at the end',
      ),
    outputs: z
      .array(OutputSchema)
      .describe('Published renditions; emptied when the job expires (its files are removed)'),
    expired_at: z.iso
      .datetime()
      .optional()
      .describe(
        'When its outputs were removed (OUTPUT_RETENTION_DAYS after completion); present once `expired`',
      ),
    skipped: z
      .array(SkippedSchema)
      .optional()
      .describe('Profiles not produced, with the reason; present once completed'),
    playback: z
      .object({
        hls: z.string().nullable(),
        mp4: z.string().nullable(),
        thumbnail: z.string().nullable(),
        storyboard: z.string().nullable(),
      })
      .optional()
      .describe(
        "What a player needs, as URLs (null for what was not made), once completed; while `processing` with `playable_at`, the HLS master alone (the stream as published so far), the rest null. In the status API's answers",
      ),
  })
  .meta({ id: 'Job', examples: [JOB_EXAMPLE, PLAYABLE_JOB_EXAMPLE] })
export type Job = z.infer<typeof JobSchema>

/** The 202 body of `POST /upload` and `POST /upload-url` (the seed's shape, exactly). */
export const UploadResponseSchema = z
  .object({
    job_id: z.string(),
    filename: z.string(),
    status: z.literal('queued'),
    message: z.literal('Video uploaded and queued for processing'),
    created_at: z.iso.datetime(),
  })
  .meta({ id: 'UploadResponse', examples: [UPLOAD_RESPONSE_EXAMPLE] })
export type UploadResponse = z.infer<typeof UploadResponseSchema>

/**
 * The body of `POST /upload-url`. `metadata` and `callback_url` are checked by jobOptions (for
 * its messages), so zod takes anything there; their `meta` says in the OpenAPI document what
 * jobOptions accepts.
 */
export const UploadUrlRequestSchema = z
  .object({
    url: z
      .url({ protocol: /^https?$/, error: 'url must be an absolute http:// or https:// URL' })
      .max(2048, 'url must be at most 2048 characters')
      .describe('The video to import (http or https; the transcoder downloads it)'),
    profiles: z
      .array(z.string())
      .optional()
      .describe('A non-empty subset of the profile table; absent: every configured profile'),
    metadata: z.unknown().optional().meta({
      type: 'object',
      description: 'Your own JSON object (1 KB of JSON at most), returned with the job',
    }),
    callback_url: z.unknown().optional().meta({
      type: 'string',
      format: 'uri',
      maxLength: 2048,
      description: "An http(s) URL on the public internet where this job's events go as webhooks",
    }),
    clip: ClipSchema.optional(),
    watermark: WatermarkSchema.optional(),
    normalize_audio: z
      .boolean()
      .optional()
      .describe('Normalise the audio to -16 LUFS integrated (EBU R128, two passes)'),
  })
  .meta({ id: 'UploadUrlRequest', examples: [UPLOAD_URL_REQUEST_EXAMPLE] })

export type UploadUrlRequest = z.infer<typeof UploadUrlRequestSchema>

export const StatsSchema = z
  .object({
    queue_depth: z.number().int().nonnegative().describe('Jobs waiting for a transcoder'),
    dlq_depth: z.number().int().nonnegative().describe('Failed jobs in the dead-letter stream'),
    total_jobs: z.number().int().nonnegative(),
    jobs_by_status: z.partialRecord(JobStatusSchema, z.number().int().nonnegative()),
    processing_rate_per_minute: z
      .number()
      .nonnegative()
      .describe('Jobs finished (completed or failed) a minute, over the last 5 minutes'),
  })
  .meta({ id: 'Stats', examples: [STATS_EXAMPLE] })
export type Stats = z.infer<typeof StatsSchema>

/** One entry of the dead-letter queue, as listed by `GET /dlq`. */
export const DlqEntrySchema = z
  .object({
    message_id: z.string().describe('The dead-letter stream entry id: what retry and delete name'),
    job_id: z.string(),
    filename: z.string(),
    error: z.string(),
    attempts: z.number().int().nonnegative(),
    failed_at: z.iso.datetime(),
  })
  .meta({ id: 'DlqEntry', examples: [DLQ_ENTRY_EXAMPLE] })
export type DlqEntry = z.infer<typeof DlqEntrySchema>

export const DlqListSchema = z
  .object({
    total: z
      .number()
      .int()
      .nonnegative()
      .describe('Entries in the queue in all (the list may be a page of it)'),
    entries: z.array(DlqEntrySchema),
  })
  .meta({ id: 'DlqList', examples: [DLQ_LIST_EXAMPLE] })
export type DlqList = z.infer<typeof DlqListSchema>

/** Every error answer: a stable code (docs/api.md's table) and a readable sentence. */
export const ErrorBodySchema = z
  .object({
    error: z.string().describe('A stable code: `not_found`, `file_too_large`, ... (docs/api.md, Errors)'),
    message: z.string(),
  })
  .meta({ id: 'ErrorBody', examples: [ERROR_BODY_EXAMPLE] })
export type ErrorBody = z.infer<typeof ErrorBodySchema>
