import { AppError, PermanentJobError } from '@vpp/shared'
import { ProcessError } from './ffmpeg-process.ts'

/**
 * Delay before attempt `attempt + 1`: exponential (base, 2×base, 4×base, … capped at max) with
 * "equal jitter" (half fixed, half random), so retries of jobs that failed together spread out.
 */
export function retryDelayMs(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1))
  return Math.round(ceiling / 2 + random() * (ceiling / 2))
}

/** Runs shorter than this are never cut off (start-up, probing, tiny clips). */
const MIN_TIMEOUT_S = 120
/** Allowed wall time per second of input: 10× slower than real time. */
const SECONDS_PER_INPUT_SECOND = 10
/**
 * The ceiling. Measured here (bench:engine, 2 cores): noisy 1080p encodes every rendition at
 * about 2.3 s per input second, so the default MAX_DURATION_SECONDS (4 h) needs about 9 h: within
 * it. A run killed at the ceiling is not retried (it would only be killed there again).
 */
export const MAX_TIMEOUT_MS = 12 * 3600_000

/**
 * FFMPEG_TIMEOUT when set; otherwise scaled by MAX_DURATION_SECONDS, within [2 min, 12 h]. Every
 * input is read to that limit at most (`-t`), so that is the longest a run can honestly need; the
 * duration its container claims is never trusted for it (a forged one would buy a shorter or
 * longer budget).
 */
export function ffmpegTimeoutMs(fixedSeconds: number | undefined, maxDurationSeconds: number): number {
  if (fixedSeconds !== undefined) return fixedSeconds * 1000
  const scaled = Math.ceil(maxDurationSeconds * SECONDS_PER_INPUT_SECOND) * 1000
  return Math.min(MAX_TIMEOUT_MS, Math.max(MIN_TIMEOUT_S * 1000, scaled))
}

/**
 * A run killed at the timeout ceiling is permanent (another attempt would be killed there
 * again, hours later); below it, a timeout is retried (a busy machine, a stuck write).
 */
export function atCeiling(error: unknown, timeoutMs: number): unknown {
  if (!(error instanceof ProcessError) || error.reason !== 'timeout' || timeoutMs < MAX_TIMEOUT_MS)
    return error
  return new PermanentJobError('ffmpeg_timeout', error.message, { cause: error })
}

/**
 * FFMPEG_MEMORY_LIMIT_MB when unset: the address space one ffmpeg run needs for the largest
 * ordinary input (4K at 60 fps, every rendition of the table) at `threads` per encoder, with
 * about 20 % headroom. Measured (bench/memory.ts, VmPeak of the run): 2.9 GB at 1 thread, 3.8 at
 * 4, 4.9 at 8, 7.3 at 16: each thread adds frames in flight and a stack.
 */
export function memoryLimitMb(threads: number): number {
  return 3072 + 384 * Math.max(1, threads)
}

/** What ffmpeg, x264, libvpx and ffprobe say when an allocation fails. */
const ALLOCATION_FAILED =
  /Cannot allocate memory|malloc of size \d+ failed|Memory allocation error|out of memory|bad_alloc|failed to allocate|failed to map segment/i

/**
 * A run that failed because it reached its memory limit (an allocation refused, said on stderr),
 * as the permanent `resource_limit` the job records; anything else as it is. Retrying would meet
 * the same limit, and the transcoder is not sick: its limit did its work.
 */
export function overMemoryLimit(error: unknown): unknown {
  if (!(error instanceof ProcessError) || error.reason !== 'exit' || !error.memoryLimitMb) return error
  if (!ALLOCATION_FAILED.test(error.stderr)) return error
  const tool = error.message.split(' ')[0] ?? 'ffmpeg'
  return new PermanentJobError(
    'resource_limit',
    `${tool} needed more memory than its limit of ${error.memoryLimitMb} MB (FFMPEG_MEMORY_LIMIT_MB)`,
    { cause: error },
  )
}

/**
 * Permanent: retrying cannot help (not a video, no video stream, over limits, a 4xx download).
 * Everything else (ffmpeg crash or timeout, storage, network, Redis) is transient.
 */
export function isPermanent(error: unknown): boolean {
  return error instanceof PermanentJobError
}

/**
 * The stable code recorded with a job's error: the AppError's own (`url_not_allowed`,
 * `download_timeout`, `invalid_input`, ...), `ffmpeg_<reason>` for an ffmpeg run that failed,
 * `internal_error` for anything else.
 */
export function errorCode(error: unknown): string {
  if (error instanceof AppError) return error.code
  if (error instanceof ProcessError) return `ffmpeg_${error.reason}`
  return 'internal_error'
}

/** The message recorded for a job that ran out of attempts. */
export function finalError(error: string, attempts: number): string {
  return attempts > 1 ? `${error} (gave up after ${attempts} attempts)` : error
}

/**
 * Threads per encoder when FFMPEG_THREADS is unset: the cores shared out between the jobs that
 * run at once, at least 1. 0 (ffmpeg's own choice, about one per core for every encoder) when a
 * single job has the machine to itself.
 */
export function threadsPerEncoder(cores: number, concurrency: number): number {
  if (concurrency <= 1) return 0
  return Math.max(1, Math.floor(cores / concurrency))
}
