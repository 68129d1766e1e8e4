import {
  type ChunkClaim,
  errorMessage,
  type JobStore,
  type Logger,
  type MediaStorage,
  type TranscoderMetrics,
} from '@vpp/shared'
import type { Active } from '../active.ts'
import type { TranscoderConfig } from '../config.ts'
import { explainFailure } from '../explain-failure.ts'
import { scratchVolume } from '../health.ts'
import { failureOf, record } from '../outcome.ts'
import { LostClaimError } from '../process-job.ts'
import { ffmpegTimeoutMs, finalError, isPermanent, retryDelayMs } from '../retry-policy.ts'
import type { SickState } from '../sick-state.ts'
import { encodeItem } from './encode-item.ts'
import type { EncodePlan } from './encode-plan.ts'

export interface ChunkItemDeps {
  config: TranscoderConfig
  store: JobStore
  storage: MediaStorage
  logger: Logger
  metrics: TranscoderMetrics
  sick: SickState
  /** Aborted when the shutdown grace is over (running ffmpeg processes are killed). */
  killing: AbortSignal
}

/**
 * Run one chunk work item to its end: started under a new lease, encoded (encodeItem), its
 * outcome recorded only while the lease is still this transcoder's. Never rejects.
 */
export async function runChunkItem(active: Active, item: string, deps: ChunkItemDeps): Promise<void> {
  const { config, store, metrics, sick } = deps
  const { jobId } = active
  const log = deps.logger.child({ job_id: jobId, item })
  try {
    const started = await store.chunks.start(jobId, item, active.stream, active.entryId, config.consumerName)
    if (!started.started) {
      log.debug('chunk entry settled without work', { why: started.why, entry_id: active.entryId })
      return
    }
    const claim = started.claim
    active.chunk = claim
    const attempt = started.attempts
    if (sick.sick) {
      const error = `Returned uncounted: transcoder ${config.consumerName} is sick`
      const due = new Date()
      const outcome = { outcome: 'retry', error, code: 'transcoder_unhealthy', due, uncounted: true } as const
      await record(() => store.chunks.finish(claim, outcome), log)
      return
    }
    if (attempt > config.MAX_ATTEMPTS) {
      const error = `Gave up after ${attempt - 1} attempts: the transcoder running it stopped before finishing`
      await record(() => store.chunks.finish(claim, { outcome: 'failed', error, code: 'worker_lost' }), log)
      metrics.chunks.inc({ status: 'failed' })
      return
    }
    const plan = JSON.parse(started.plan) as EncodePlan
    metrics.active.inc()
    try {
      await encodeAndRecord(active, item, claim, attempt, plan, log, deps)
    } catch (error) {
      await chunkFailed(claim, attempt, error, active, log, deps)
    } finally {
      metrics.active.dec()
    }
  } catch (error) {
    // Redis could not record the outcome: the entry stays pending and XAUTOCLAIM recovers it.
    log.error('could not record the chunk outcome; it will be recovered', { error: errorMessage(error) })
  }
}

/** Encode the item and record its result (dropped when the lease is no longer this transcoder's). */
async function encodeAndRecord(
  active: Active,
  item: string,
  claim: ChunkClaim,
  attempt: number,
  plan: EncodePlan,
  log: Logger,
  { config, store, storage, metrics, sick }: ChunkItemDeps,
): Promise<void> {
  const begun = performance.now()
  let reported = 0
  const timeoutMs = ffmpegTimeoutMs(config.FFMPEG_TIMEOUT, config.MAX_DURATION_SECONDS)
  const result = await encodeItem(plan, item, claim.lease, {
    jobId: active.jobId,
    config,
    storage,
    logger: log,
    signal: active.stop.signal,
    onProgress: (seconds, partial) => {
      // What the item published (the audio's first segments) is passed on at once.
      if (!partial && performance.now() - reported < 1000) return
      reported = performance.now()
      store.chunks.progress(claim, seconds, partial).catch(() => {}) // progress is best effort
    },
    explain: (error, paths) => explainFailure(error, paths, scratchVolume(storage.backend), timeoutMs),
  })
  const recorded = await record(
    () => store.chunks.finish(claim, { outcome: 'done', result: JSON.stringify(result) }),
    log,
  )
  sick.succeeded()
  const seconds = (performance.now() - begun) / 1000
  metrics.chunks.inc({ status: recorded ? 'completed' : 'lost' })
  metrics.chunkDuration.observe(seconds)
  if (recorded) log.info('chunk done', { attempt, duration_ms: Math.round(seconds * 1000) })
  else log.warn('chunk was taken over before its result was recorded; result dropped')
}

/** A failed item: dropped (canceled, lost, shutdown), returned uncounted (sick), failed, or retried. */
async function chunkFailed(
  claim: ChunkClaim,
  attempt: number,
  error: unknown,
  active: Active,
  log: Logger,
  { config, store, metrics, sick, killing }: ChunkItemDeps,
): Promise<void> {
  if (active.canceled || active.lost.signal.aborted || error instanceof LostClaimError) {
    metrics.chunks.inc({ status: 'lost' })
    log.info('chunk stopped: its job was canceled, or it was taken over')
    return
  }
  if (killing.aborted) return log.warn('chunk stopped by shutdown; left pending for another transcoder')
  const { message, code, stderr, infra } = failureOf(error, metrics)
  if (infra && sick.failed(infra)) {
    const reason = `Returned uncounted: transcoder ${config.consumerName} is sick (${infra.reason})`
    const due = new Date()
    await record(
      () => store.chunks.finish(claim, { outcome: 'retry', error: reason, code, due, uncounted: true }),
      log,
    )
    return
  }
  if (isPermanent(error) || attempt >= config.MAX_ATTEMPTS) {
    const final = finalError(message, attempt)
    if (await record(() => store.chunks.finish(claim, { outcome: 'failed', error: final, code }), log)) {
      metrics.chunks.inc({ status: 'failed' })
      log.error('chunk failed; its job fails', { error: final, stderr })
    }
    return
  }
  const due = new Date(Date.now() + retryDelayMs(attempt, config.RETRY_BASE_MS, config.RETRY_MAX_MS))
  if (await record(() => store.chunks.finish(claim, { outcome: 'retry', error: message, code, due }), log)) {
    metrics.chunks.inc({ status: 'retrying' })
    log.warn('chunk failed; will retry', { error: message, retry_at: due.toISOString() })
  }
}
