import type { RedisKeys } from '../redis/redis-keys.ts'
import type { Result } from './job-types.ts'

/** How long the finished-jobs set keeps an entry (only the rate window is read). */
const FINISHED_RETENTION_MS = 60 * 60_000

/**
 * The keys a state change writes beside the job, in the order the scripts take them after their
 * own: the event log and its settings (KEYS), and the listing indexes' prefix (an ARGV).
 */
export const eventKeys = (k: RedisKeys): [string, string] => [k.events, k.config]
export const indexPrefix = (k: RedisKeys): string => k.index('')

/** The finish script's one ARGV (JSON), as finish-10.lua documents it. */
export interface FinishArgs {
  group: string
  entry_id: string
  status: Result['status']
  updated_at: string
  now_ms: number
  /** JSON array text ('[]' when failed). */
  outputs: string
  /** '' when completed. */
  error: string
  /** '' when completed. */
  error_code: string
  /** JSON array text ('' when failed). */
  skipped: string
  /** 'kept': the upload stays (KEEP_ORIGINALS); '' otherwise. */
  original: string
  /** '' to fail a job whatever its owner (its entry was deleted). */
  lease: string
  finished_keep_ms: number
  /** 0: no limit. */
  dlq_maxlen: number
  /** '' to take none. */
  take_next_for: string
  job_prefix: string
  index_prefix: string
}

/** The finish script's KEYS and ARGV for job `jobId`'s outcome `result`. */
export function finishCall(
  k: RedisKeys,
  call: { jobId: string; entryId: string; lease: string; result: Result; now: Date; takeNextFor: string },
  dlqMaxLen: number,
): [string[], string[]] {
  const { result, now } = call
  const args: FinishArgs = {
    group: k.group,
    entry_id: call.entryId,
    status: result.status,
    updated_at: now.toISOString(),
    now_ms: now.getTime(),
    outputs: JSON.stringify(result.status === 'completed' ? result.outputs : []),
    error: result.status === 'failed' ? result.error : '',
    error_code: result.status === 'failed' ? result.code : '',
    skipped: result.status === 'completed' ? JSON.stringify(result.skipped ?? []) : '',
    original: result.status === 'completed' ? (result.original ?? '') : '',
    lease: call.lease,
    finished_keep_ms: FINISHED_RETENTION_MS,
    dlq_maxlen: dlqMaxLen,
    take_next_for: call.takeNextFor,
    job_prefix: k.job(''),
    index_prefix: indexPrefix(k),
  }
  const keys = [k.job(call.jobId), k.statusCounts, k.stream, k.finished, k.dlq, k.entries, k.retention]
  return [[...keys, k.outputRetention, ...eventKeys(k)], [JSON.stringify(args)]]
}

/** The delete script's KEYS for job `jobId` (delete-15.lua). */
export function deleteKeys(k: RedisKeys, jobId: string): string[] {
  return [
    k.job(jobId),
    k.statusCounts,
    k.stream,
    k.delayed,
    k.entries,
    k.finished,
    k.dlq,
    k.deletedJobs,
    k.retention,
    k.outputRetention,
    k.deliveries(jobId),
    k.chunkJob(jobId),
    k.tusUpload(jobId),
    ...eventKeys(k),
  ]
}
