import { type DlqEntry, type Job, JobSchema } from '../api/job.ts'
import type { JobStatus } from '../api/statuses.ts'

/** What a consumer holds while it processes a job: the entry and the lease (fencing token). */
export interface Claim {
  jobId: string
  entryId: string
  lease: number
}

export type StartResult =
  | { started: true; claim: Claim; attempts: number; before: JobStatus; job: Job }
  | { started: false; status: JobStatus | null }

/** start_job's reply: status before, lease, attempts, the job hash as a flat field/value list. */
export type StartReply = [string, number, number, string[]]

export function startResult(jobId: string, entryId: string, reply: StartReply): StartResult {
  const [before, lease, attempts, fields] = reply
  if (lease === 0) return { started: false, status: before === '' ? null : (before as JobStatus) }
  // The record as it is now (processing), read in the same step: no second round trip.
  const hash: Record<string, string> = {}
  for (let i = 0; i + 1 < fields.length; i += 2) hash[fields[i] as string] = fields[i + 1] as string
  const job = fromHash(hash)
  if (!job) throw new Error(`job ${jobId} has no record`)
  return { started: true, claim: { jobId, entryId, lease }, attempts, before: before as JobStatus, job }
}

/** A job record as the fields of its Redis hash. */
export function toHash(job: Job): Record<string, string> {
  const hash: Record<string, string> = {
    job_id: job.job_id,
    filename: job.filename,
    source: job.source,
    status: job.status,
    created_at: job.created_at,
    updated_at: job.updated_at,
    attempts: String(job.attempts),
    outputs: JSON.stringify(job.outputs),
  }
  if (job.source_url !== undefined) hash.source_url = job.source_url
  if (job.profiles !== undefined) hash.profiles = JSON.stringify(job.profiles)
  if (job.metadata !== undefined) hash.metadata = JSON.stringify(job.metadata)
  if (job.callback_url !== undefined) hash.callback_url = job.callback_url
  if (job.clip !== undefined) hash.clip = JSON.stringify(job.clip)
  if (job.watermark !== undefined) hash.watermark = JSON.stringify(job.watermark)
  if (job.normalize_audio !== undefined) hash.normalize_audio = String(job.normalize_audio)
  if (job.captions !== undefined) hash.captions = JSON.stringify(job.captions)
  if (job.original !== undefined) hash.original = job.original
  if (job.error !== undefined) hash.error = job.error
  if (job.playable_at !== undefined) hash.playable_at = job.playable_at
  return hash
}

/** The public record: internal fields (lease, owner, entry_id, settled_entry, ...) stay in Redis. */
export function fromHash(hash: Record<string, string>): Job | null {
  if (!hash.job_id) return null
  return JobSchema.parse({
    job_id: hash.job_id,
    filename: hash.filename,
    source: hash.source,
    source_url: hash.source_url,
    status: hash.status,
    profiles: hash.profiles ? JSON.parse(hash.profiles) : undefined,
    metadata: hash.metadata ? JSON.parse(hash.metadata) : undefined,
    callback_url: hash.callback_url,
    clip: hash.clip ? JSON.parse(hash.clip) : undefined,
    watermark: hash.watermark ? JSON.parse(hash.watermark) : undefined,
    normalize_audio: hash.normalize_audio === undefined ? undefined : hash.normalize_audio === 'true',
    captions: hash.captions ? JSON.parse(hash.captions) : undefined,
    original: hash.original,
    created_at: hash.created_at,
    updated_at: hash.updated_at,
    attempts: Number(hash.attempts ?? 0),
    error: hash.error,
    error_code: hash.error_code,
    next_attempt_at: hash.next_attempt_at,
    progress: hash.progress === undefined ? undefined : Number(hash.progress),
    eta_seconds: hash.eta_seconds === undefined ? undefined : Number(hash.eta_seconds),
    playable_at: hash.playable_at,
    outputs: hash.outputs ? JSON.parse(hash.outputs) : [],
    expired_at: hash.expired_at,
    skipped: hash.skipped ? JSON.parse(hash.skipped) : undefined,
  })
}

/** A dead-letter stream entry as `GET /dlq` lists it. */
export function toDlqEntry(id: string, fields: Record<string, string>): DlqEntry {
  return {
    message_id: id,
    job_id: fields.job_id ?? '',
    filename: fields.filename ?? '',
    error: fields.error ?? '',
    attempts: Number(fields.attempts ?? 0),
    failed_at: fields.failed_at ?? new Date(Number(id.split('-')[0])).toISOString(),
  }
}
