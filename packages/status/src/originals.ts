import { AppError, type Job } from '@vpp/shared'
import type { S3Media } from '@vpp/shared/node'
import type { MediaSigner } from './media-token.ts'
import type { StatusDeps } from './status-deps.ts'

/**
 * Where status finds a job's kept upload and how it hands out a short-lived URL to it
 * (`GET /jobs/{job_id}/original`): a presigned GET (S3), or a signed `/originals/{token}/{job_id}`
 * URL that status serves itself from UPLOAD_DIR (local storage).
 */
export interface Originals {
  /** How long a URL is valid (ORIGINAL_URL_TTL). */
  readonly ttlSeconds: number
  /** The size of job `jobId`'s upload; null when it is not in storage. */
  size(jobId: string): Promise<number | null>
  /** A URL that downloads job `jobId`'s upload as `filename`, and when it stops working. */
  link(jobId: string, filename: string, now: Date): Promise<{ url: string; expiresAt: Date }>
  /** Local storage: the signer of `/originals/…` tokens and the file server over UPLOAD_DIR. */
  local?: { signer: MediaSigner; files: NonNullable<StatusDeps['media']> }
}

/** The bucket's uploads, through presigned GETs with a Content-Disposition (S3). */
export function s3Originals(s3: S3Media, ttlSeconds: number): Originals {
  return {
    ttlSeconds,
    size: (jobId) => s3.uploadSize(jobId),
    async link(jobId, filename, now) {
      const url = await s3.presignUpload(jobId, filename, ttlSeconds)
      return { url, expiresAt: new Date(now.getTime() + ttlSeconds * 1000) }
    },
  }
}

/**
 * UPLOAD_DIR's uploads, through `{publicUrl}/originals/{token}/{job_id}`, the token made by
 * `signer` (purpose `vpp-original`: a media token never opens an original, nor the reverse).
 */
export function localOriginals(options: {
  signer: MediaSigner
  publicUrl: string
  size: (jobId: string) => Promise<number | null>
  files: NonNullable<StatusDeps['media']>
}): Originals {
  const { signer, publicUrl, size, files } = options
  return {
    ttlSeconds: signer.ttlSeconds,
    size,
    async link(jobId, _filename, now) {
      const token = await signer.sign(jobId, now)
      return { url: `${publicUrl}/originals/${token}/${jobId}`, expiresAt: signer.expiryOf(token) }
    },
    local: { signer, files },
  }
}

const notKept = (message: string) => new AppError('original_not_kept', message, 404)

/**
 * Why job `job`'s upload is not handed out, or null when it is: a completed job's while it is
 * kept (KEEP_ORIGINALS), and a failed job's, which stays for a retry from the dead-letter queue
 * (until the entry is discarded: then not in storage). Not finished yet: 409, since the answer
 * depends on how it ends.
 */
export function unkeptReason(job: Job): AppError | null {
  const id = job.job_id
  switch (job.status) {
    case 'queued':
    case 'processing':
    case 'retrying':
      return new AppError(
        'job_not_finished',
        `Job ${id} is ${job.status}: its original is answered once it has finished`,
        409,
      )
    case 'completed':
      return job.original === 'kept'
        ? null
        : notKept(`KEEP_ORIGINALS was off when job ${id} completed: its upload was removed then`)
    case 'failed':
      return null
    case 'expired':
      return job.original === 'removed'
        ? removed(job)
        : notKept(`KEEP_ORIGINALS was off when job ${id} completed: its upload was removed then`)
    case 'canceled':
      return notKept(`Job ${id} was canceled: its upload is not kept`)
  }
}

/** The upload is gone: expired with the outputs (OUTPUT_RETENTION_DAYS), or no longer in storage. */
export function removed(job: Job): AppError {
  return new AppError(
    'original_removed',
    job.status === 'expired'
      ? `The original of job ${job.job_id} was removed with its outputs at ${job.expired_at} (OUTPUT_RETENTION_DAYS)`
      : `The original of job ${job.job_id} is no longer in storage`,
    404,
  )
}
