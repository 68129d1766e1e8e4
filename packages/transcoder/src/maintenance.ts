import { errorMessage, type JobStore, type Logger, type MediaStorage } from '@vpp/shared'
import type { Active } from './active.ts'
import type { TranscoderConfig } from './config.ts'
import { type RetentionDeps, RetentionSweeper } from './retention-sweeper.ts'

/** A consumer of the group idle this long, holding no entry, is a transcoder long gone. */
export const CONSUMER_IDLE_MS = 24 * 3600_000
/** How often such consumers are looked for (and once at start). */
const CONSUMER_SWEEP_MS = 3600_000
/** How often uploads of discarded dead letters are removed. */
const DISCARDED_SWEEP_MS = 5000

export interface MaintenanceDeps extends RetentionDeps {
  config: TranscoderConfig
  store: JobStore
  storage: MediaStorage
  logger: Logger
}

/** What the timers look at in the transcoder. */
export interface MaintenanceHooks {
  /** The entries running now (their heartbeats). */
  active: () => Iterable<Active>
  /** With every slot busy: look for a dead transcoder's entry (GroupReader.watchStalled). */
  watchStalled: () => Promise<void>
}

/**
 * A transcoder's periodic work beside its read loop, each task never overlapping itself:
 * - a heartbeat (every CLAIM_IDLE_MS/3) keeps its pending entries fresh, so live long jobs are
 *   never taken over, and tells it when a claim was lost;
 * - retries whose backoff has elapsed are queued (every min(1 s, RETRY_BASE_MS));
 * - with every slot busy, stalled entries are looked for (every CLAIM_IDLE_MS/4, 50 ms to 1 s);
 * - consumers gone for a day are forgotten (hourly, and once at start);
 * - files of deleted jobs and uploads of discarded dead letters are removed (every 5 s);
 * - retention (RetentionSweeper) expires old outputs and records, one transcoder at a time.
 */
export class Maintenance {
  readonly #timers: NodeJS.Timeout[] = []
  readonly #retention: RetentionSweeper

  constructor(
    readonly deps: MaintenanceDeps,
    readonly hooks: MaintenanceHooks,
  ) {
    this.#retention = new RetentionSweeper(deps)
  }

  start(): void {
    const { config, logger } = this.deps
    this.#every(Math.max(50, Math.floor(config.CLAIM_IDLE_MS / 3)), () =>
      heartbeat(this.hooks.active(), this.deps),
    )
    this.#every(Math.min(1000, config.RETRY_BASE_MS), () => promoteDue(this.deps))
    // While every slot is busy, the read loop does not look for stalled entries; this does, so a
    // dead transcoder's job gets the next free slot instead of waiting behind the whole backlog.
    this.#every(Math.max(50, Math.min(1000, Math.floor(config.CLAIM_IDLE_MS / 4))), () =>
      this.hooks.watchStalled().catch((error: unknown) => {
        logger.warn('looking for stalled jobs failed', { error: errorMessage(error) })
      }),
    )
    this.#every(CONSUMER_SWEEP_MS, () => removeIdleConsumers(this.deps))
    this.#every(DISCARDED_SWEEP_MS, () => removeDiscardedUploads(this.deps))
    this.#retention.start()
    void removeIdleConsumers(this.deps)
  }

  /** Stop the retention sweep: one under way stops at its next job and releases its lock. */
  closeRetention(): Promise<void> {
    return this.#retention.close()
  }

  /** Stop the timers (a task under way finishes). */
  stopTimers(): void {
    for (const timer of this.#timers) clearInterval(timer)
  }

  #every(ms: number, task: () => Promise<void>): void {
    let running = false
    const timer = setInterval(() => {
      if (running) return
      running = true
      task().finally(() => {
        running = false
      })
    }, ms)
    timer.unref()
    this.#timers.push(timer)
  }
}

/** Keep each running entry's claim fresh; a claim found lost (taken over, job stopped) stops its work. */
export async function heartbeat(
  actives: Iterable<Active>,
  { store, config, logger }: Pick<MaintenanceDeps, 'store' | 'config' | 'logger'>,
): Promise<void> {
  for (const active of actives) {
    if (active.chunk && !active.lost.signal.aborted) {
      try {
        if (!(await store.chunks.heartbeat(active.chunk, config.consumerName))) {
          logger.warn('chunk lost (taken over, or its job stopped); stopping it', {
            job_id: active.jobId,
            item: active.chunk.item,
          })
          active.lost.abort()
          active.stop.abort()
        }
      } catch (error) {
        logger.warn('chunk heartbeat failed', { job_id: active.jobId, error: errorMessage(error) })
      }
      continue
    }
    if (!active.claim || active.lost.signal.aborted) continue
    try {
      if (!(await store.heartbeat(active.claim, config.consumerName))) {
        logger.warn('claim lost to another transcoder; stopping this attempt', { job_id: active.jobId })
        active.lost.abort()
        active.stop.abort()
      }
    } catch (error) {
      // Redis silent or away: the job goes on; the entry stays this transcoder's unless Redis
      // stays away past CLAIM_IDLE_MS (then another takes it over and this attempt's result is refused).
      logger.warn('heartbeat failed', { job_id: active.jobId, error: errorMessage(error) })
    }
  }
}

/** Queue the retries (of jobs and of chunk items) whose backoff has elapsed. */
export async function promoteDue({
  store,
  logger,
}: Pick<MaintenanceDeps, 'store' | 'logger'>): Promise<void> {
  try {
    const now = new Date()
    const queued = await store.promoteDue(now)
    if (queued > 0) logger.info('retries queued', { count: queued })
    const chunks = await store.chunks.promoteDue(now)
    if (chunks > 0) logger.info('chunk retries queued', { count: chunks })
  } catch (error) {
    logger.debug('queueing due retries failed', { error: errorMessage(error) })
  }
}

/** Forget consumers gone for a day (each transcoder start is a new one) that hold nothing. */
export async function removeIdleConsumers({
  config,
  store,
  logger,
}: Pick<MaintenanceDeps, 'store' | 'config' | 'logger'>): Promise<void> {
  try {
    const removed = await store.group.removeIdleConsumers(config.consumerName, CONSUMER_IDLE_MS)
    if (removed.length > 0) logger.info('idle consumers removed', { consumers: removed })
  } catch (error) {
    logger.warn('removing idle consumers failed', { error: errorMessage(error) })
  }
}

/**
 * Remove the files of deleted jobs (DELETE /jobs/{id}: outputs and upload), and the uploads kept
 * for dead letters that were discarded (DELETE /dlq/{id}). What could not be removed is put back
 * for the next sweep.
 */
export async function removeDiscardedUploads({
  store,
  storage,
  logger,
}: Pick<MaintenanceDeps, 'store' | 'storage' | 'logger'>): Promise<void> {
  try {
    const deleted = await store.takeDeletedJobs(100)
    const kept: string[] = []
    for (const id of deleted) {
      await Promise.all([
        storage.removeOutputs(id),
        storage.removeUpload(id),
        storage.removePieces(id),
      ]).catch(() => kept.push(id))
    }
    await store.returnDeletedJobs(kept)
    if (deleted.length > 0)
      logger.info('files of deleted jobs removed', { count: deleted.length - kept.length })
  } catch (error) {
    logger.warn('removing files of deleted jobs failed', { error: errorMessage(error) })
  }
  try {
    const ids = await store.deadLetters.takeDiscardedUploads(100)
    const failed: string[] = []
    // The upload kept for a retry, and the pieces of its chunked encode.
    for (const id of ids)
      await Promise.all([storage.removeUpload(id), storage.removePieces(id)]).catch(() => failed.push(id))
    await store.deadLetters.returnDiscardedUploads(failed)
    if (ids.length > 0)
      logger.info('uploads of discarded dead letters removed', { count: ids.length - failed.length })
  } catch (error) {
    logger.warn('removing uploads of discarded dead letters failed', { error: errorMessage(error) })
  }
}
