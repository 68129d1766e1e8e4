import {
  type Claim,
  errorMessage,
  type JobStore,
  type Logger,
  type MediaStorage,
  type StartResult,
  type TranscoderMetrics,
} from '@vpp/shared'
import type { Active } from './active.ts'
import type { TranscoderConfig } from './config.ts'
import { ProcessError } from './ffmpeg-process.ts'
import { classifyFailure, type InfraFailure } from './health.ts'
import { LostClaimError, type processJob } from './process-job.ts'
import { errorCode, finalError, isPermanent, retryDelayMs } from './retry-policy.ts'
import type { SickState } from './sick-state.ts'

export type JobResult = Awaited<ReturnType<typeof processJob>>

export interface OutcomeDeps {
  config: TranscoderConfig
  store: JobStore
  storage: MediaStorage
  metrics: TranscoderMetrics
  sick: SickState
  /** Aborted when the transcoder closes. */
  stopping: AbortSignal
  /** Aborted when the shutdown grace is over (running ffmpeg processes are killed). */
  killing: AbortSignal
}

/**
 * Record an outcome, retrying while Redis is unreachable (a restart takes seconds). Returns
 * what the store said; throws when Redis stayed away (the entry then stays pending).
 */
export async function record<T>(write: () => Promise<T>, log: Logger, firstDelayMs = 250): Promise<T> {
  for (let attempt = 0, delay = firstDelayMs; ; attempt++, delay = Math.min(delay * 2, 5000)) {
    try {
      return await write()
    } catch (error) {
      if (attempt >= 12) throw error
      log.warn('recording the outcome failed; retrying', { error: errorMessage(error), retry_in_ms: delay })
      await sleep(delay)
    }
  }
}

/** What a failed attempt says: its message and code, its ffmpeg run (counted), its infrastructure cause. */
export function failureOf(error: unknown, metrics: Pick<TranscoderMetrics, 'ffmpegFailures'>) {
  // A run killed at the timeout ceiling comes as a PermanentJobError caused by the ProcessError.
  const run = error instanceof ProcessError ? error : (error as Error | undefined)?.cause
  if (run instanceof ProcessError) metrics.ffmpegFailures.inc({ reason: run.reason })
  return {
    message: errorMessage(error),
    code: errorCode(error),
    stderr: run instanceof ProcessError ? run.stderr.slice(-1000) : undefined,
    infra: classifyFailure(error) as InfraFailure | null,
  }
}

/** The next entry a finish took in the same step (finishAndTakeNext), to begin at once. */
export interface TakeNext {
  /** Who takes it; '' for none (closing, sick, or a stalled entry waits for the slot this frees). */
  consumer: string
  begin: (entryId: string, jobId: string, start: StartResult) => void
}

/**
 * How a job's attempt ends, in Redis: completed (and the next entry taken in the same step),
 * failed (retried later, or dead-lettered), handed back uncounted by a sick transcoder, or given
 * up after too many takeovers. Each write is fenced by the job's lease and retried while Redis is
 * away (record); each is counted and logged.
 */
export class Outcomes {
  constructor(readonly deps: OutcomeDeps) {}

  /**
   * Give a job back to the queue, its attempt not counted: it runs again at once on a healthy
   * transcoder (or here, once well).
   */
  async handBack(claim: Claim, log: Logger): Promise<void> {
    const { store, config, sick } = this.deps
    const why = sick.sick?.reason ?? 'unhealthy'
    const reason = `Returned to the queue uncounted: transcoder ${config.consumerName} is sick (${why})`
    const now = new Date()
    if (await record(() => store.returnToQueue(claim, reason, 'transcoder_unhealthy', now), log)) {
      log.warn('job handed back to the queue; this attempt does not count', { reason: why })
    } else {
      log.warn('job was taken over before it could be handed back')
    }
  }

  /** Taken over more than MAX_ATTEMPTS times: the transcoders running it kept dying (OOM kill, crash). */
  async gaveUp(claim: Claim, attempt: number, log: Logger): Promise<void> {
    const error = `Gave up after ${attempt - 1} attempts: the transcoder running it stopped before finishing`
    const now = new Date()
    await record(
      () => this.deps.store.finish(claim, { status: 'failed', error, code: 'worker_lost' }, now),
      log,
    )
    this.countFailed()
    log.error('job dead-lettered', { error })
  }

  /** Record a finished job (and take the next entry in the same step), then tidy up and count. */
  async completed(
    claim: Claim,
    { outputs, skipped, leftovers }: JobResult,
    log: Logger,
    startedAt: number,
    next: TakeNext,
  ): Promise<void> {
    const { store, storage, metrics } = this.deps
    const now = new Date()
    // The stream as it was published while encoding, kept a while for players that started on it,
    // then removed by the retention sweep: listed before the job is recorded, so that no crash
    // between the two leaves it behind for good (a takeover that completes lists it again).
    if (leftovers)
      await record(() => store.retention.keepUntil(claim.jobId, leftovers.folders, leftovers.until), log)
    // KEEP_ORIGINALS: the upload stays, and the record says so in the same step.
    const keep = this.deps.config.KEEP_ORIGINALS
    const result = {
      status: 'completed' as const,
      outputs,
      skipped,
      ...(keep && { original: 'kept' as const }),
    }
    // next.consumer is decided once: a retry after a lost reply must ask for the same thing.
    const { recorded, next: taken } = await record(
      () => store.finishAndTakeNext(claim, result, now, next.consumer),
      log,
    )
    if (taken) next.begin(taken.entryId, taken.jobId, taken.start)
    if (!recorded) return log.warn('job was taken over before its result was recorded; result dropped')
    // The renditions are published: the upload is no longer needed, unless KEEP_ORIGINALS (failed
    // jobs keep theirs, for a retry from the dead-letter queue).
    await Promise.all([
      keep ? undefined : storage.removeUpload(claim.jobId),
      storage.removePieces(claim.jobId),
      store.chunks.forget(claim.jobId),
    ]).catch((error: unknown) => log.warn('could not remove the upload', { error: errorMessage(error) }))
    metrics.processed.inc({ status: 'completed', profile: 'all' })
    for (const output of outputs) metrics.processed.inc({ status: 'completed', profile: output.profile })
    metrics.duration.observe({ profile: 'all' }, (performance.now() - startedAt) / 1000)
    log.info('job completed', {
      duration_ms: Math.round(performance.now() - startedAt),
      outputs: outputs.length,
      skipped: skipped.map((s) => s.profile),
    })
  }

  /** A failed attempt: dropped (canceled, lost, shutdown), handed back (sick), dead-lettered, or retried. */
  async failed(claim: Claim, attempt: number, error: unknown, active: Active, log: Logger, ms: number) {
    const { config, store, metrics, sick } = this.deps
    if (active.canceled) return log.info('job canceled; this attempt is dropped')
    if (active.lost.signal.aborted || error instanceof LostClaimError)
      return log.warn('job was taken over by another transcoder; this attempt is dropped')
    if (this.deps.killing.aborted || (active.released && this.deps.stopping.aborted))
      return log.warn('job stopped by shutdown; left pending for another transcoder')
    const { message, code, stderr, infra } = failureOf(error, metrics)
    if (infra && sick.failed(infra)) {
      log.warn('job failed on a sick transcoder', { error: message, stderr, duration_ms: Math.round(ms) })
      return this.handBack(claim, log)
    }
    if (isPermanent(error) || attempt >= config.MAX_ATTEMPTS) {
      const final = finalError(message, attempt)
      const now = new Date()
      if (!(await record(() => store.finish(claim, { status: 'failed', error: final, code }, now), log)))
        return
      this.countFailed()
      log.error('job failed; dead-lettered', {
        error: final,
        permanent: isPermanent(error),
        stderr,
        duration_ms: Math.round(ms),
      })
      return
    }
    const delay = retryDelayMs(attempt, config.RETRY_BASE_MS, config.RETRY_MAX_MS)
    const now = new Date()
    const due = new Date(now.getTime() + delay)
    if (await record(() => store.retryLater(claim, message, code, due, now), log)) {
      metrics.retries.inc()
      log.warn('job failed; will retry', {
        error: message,
        stderr,
        retry_in_ms: delay,
        duration_ms: Math.round(ms),
      })
    }
  }

  /** A failed job: counted whole (`all`) and as a failure of every rendition it was to make. */
  countFailed(): void {
    const { metrics, config } = this.deps
    metrics.processed.inc({ status: 'failed', profile: 'all' })
    for (const profile of config.profiles) metrics.processed.inc({ status: 'failed', profile: profile.name })
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
