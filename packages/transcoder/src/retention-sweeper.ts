import {
  errorMessage,
  type JobStore,
  type LeaseLock,
  type Logger,
  type MediaStorage,
  type TranscoderMetrics,
} from '@vpp/shared'
import type { TranscoderConfig } from './config.ts'

const DAY_MS = 24 * 3600_000
/** Jobs taken from a retention set at a time. */
const BATCH = 100
/** Most batches of each kind in one sweep; what is left waits for the next (no sweep runs unbounded). */
const MAX_BATCHES = 50
/**
 * The lock's lease: far longer than one job's removal (a few Redis calls, one folder or one S3
 * listing), renewed every third of it between jobs. A transcoder that dies mid-sweep frees it
 * within this long.
 */
export const RETENTION_LEASE_MS = 30_000

export interface SweepResult {
  /** False: another transcoder held the lock (or this one is closing); nothing was done. */
  swept: boolean
  /** Records deleted (JOB_RETENTION_DAYS). */
  records: number
  /** Jobs expired (OUTPUT_RETENTION_DAYS); their outputs removed now or on a later sweep. */
  outputs: number
}

export interface RetentionDeps {
  config: Pick<TranscoderConfig, 'JOB_RETENTION_DAYS' | 'OUTPUT_RETENTION_DAYS' | 'RETENTION_SWEEP_MS'>
  store: JobStore
  storage: Pick<MediaStorage, 'removeOutputs' | 'removeUpload' | 'removeOutputFolder'>
  logger: Logger
  metrics?: Pick<TranscoderMetrics, 'retentionExpired'>
  /** The lock's lease (tests shorten it). */
  leaseMs?: number
}

/**
 * Retention, every RETENTION_SWEEP_MS, by one transcoder at a time (a lock with a lease in
 * Redis; one that does not get it skips the round). A sweep:
 * - with OUTPUT_RETENTION_DAYS, moves completed jobs older than that to `expired` (one Lua step
 *   each, which also marks their outputs for removal), then removes the marked outputs: the
 *   record stops pointing at the files before they go, and a removal that fails stays marked;
 * - removes what completed jobs kept for a while only (the segments a chunked job's stream was
 *   published in while it was encoded, once its players have had time to finish);
 * - deletes finished jobs older than JOB_RETENTION_DAYS as DELETE /jobs/{id} does (the delete
 *   script, checking again that the job is still finished and old enough); their files go to the
 *   deleted-jobs set the transcoders drain (outputs, and the upload kept for a failed job).
 * The lock only saves duplicate work: every step is safe to run twice.
 */
export class RetentionSweeper {
  readonly #deps: RetentionDeps
  #timer: NodeJS.Timeout | undefined
  /** Sweeps under way (settled, never rejecting), for close to wait for. */
  readonly #sweeps = new Set<Promise<void>>()
  #closed = false

  constructor(deps: RetentionDeps) {
    this.#deps = deps
  }

  start(): void {
    if (this.#closed || this.#timer) return
    this.#timer = setInterval(() => {
      if (this.#sweeps.size > 0) return
      this.sweep().catch((error: unknown) =>
        this.#deps.logger.warn('retention sweep failed', { error: errorMessage(error) }),
      )
    }, this.#deps.config.RETENTION_SWEEP_MS)
    this.#timer.unref()
  }

  /** One sweep, if this transcoder gets the lock (`swept: false` otherwise). */
  sweep(): Promise<SweepResult> {
    const sweep = this.#sweep()
    const settled = sweep.then(
      () => {},
      () => {},
    )
    this.#sweeps.add(settled)
    void settled.then(() => this.#sweeps.delete(settled))
    return sweep
  }

  async #sweep(): Promise<SweepResult> {
    const result: SweepResult = { swept: false, records: 0, outputs: 0 }
    if (this.#closed) return result
    const lock = this.#deps.store.retention.lock(this.#deps.leaseMs ?? RETENTION_LEASE_MS)
    if (!(await lock.acquire())) return result
    result.swept = true
    const lease: Lease = { lock, renewedAt: performance.now(), lost: false }
    try {
      if (this.#deps.config.OUTPUT_RETENTION_DAYS !== undefined) await this.#expireOutputs(lease, result)
      await this.#removeExpiredOutputs(lease)
      await this.#removeLeftovers(lease)
      await this.#expireRecords(lease, result)
    } finally {
      await lock.release().catch(() => {}) // else its lease runs out
    }
    if (result.records > 0 || result.outputs > 0) {
      this.#deps.logger.info('retention sweep', {
        records_deleted: result.records,
        outputs_expired: result.outputs,
      })
    }
    return result
  }

  async #expireOutputs(lease: Lease, result: SweepResult): Promise<void> {
    const { store, config, logger, metrics } = this.#deps
    for (let batch = 0; batch < MAX_BATCHES && (await this.#keep(lease)); batch++) {
      const now = new Date()
      const cutoff = new Date(now.getTime() - (config.OUTPUT_RETENTION_DAYS ?? 0) * DAY_MS)
      const ids = await store.retention.completedBefore(cutoff, BATCH)
      for (const id of ids) {
        if (!(await this.#keep(lease))) return
        if (!(await store.retention.expireOutputs(id, cutoff, now))) continue
        result.outputs++
        metrics?.retentionExpired.inc({ kind: 'outputs' })
        logger.debug('job expired; its outputs are removed', { job_id: id })
      }
      if (ids.length < BATCH) return
      await this.#removeExpiredOutputs(lease)
    }
  }

  /** Remove the outputs of expired jobs (and an upload a crash left behind); ids stay marked until done. */
  async #removeExpiredOutputs(lease: Lease): Promise<void> {
    const { store, storage, logger } = this.#deps
    for (let batch = 0; batch < MAX_BATCHES && (await this.#keep(lease)); batch++) {
      const ids = await store.retention.outputsToRemove(BATCH)
      const removed: string[] = []
      for (const id of ids) {
        if (!(await this.#keep(lease))) break
        try {
          await Promise.all([storage.removeOutputs(id), storage.removeUpload(id)])
          removed.push(id)
        } catch (error) {
          logger.warn('could not remove the outputs of an expired job; trying again next sweep', {
            job_id: id,
            error: errorMessage(error),
          })
        }
      }
      await store.retention.outputsRemoved(removed)
      // Less than a full batch, or some failed (they would be drawn again at once): done for now.
      if (ids.length < BATCH || removed.length < ids.length) return
    }
  }

  /** Remove what completed jobs kept for a while only (the stream published while encoding). */
  async #removeLeftovers(lease: Lease): Promise<void> {
    const { store, storage, logger } = this.#deps
    for (let batch = 0; batch < MAX_BATCHES && (await this.#keep(lease)); batch++) {
      const due = await store.retention.leftoversDue(new Date(), BATCH)
      const removed: string[] = []
      for (const { job, folders, member } of due) {
        if (!(await this.#keep(lease))) break
        try {
          for (const folder of folders) await storage.removeOutputFolder(job, folder)
          removed.push(member)
        } catch (error) {
          logger.warn('could not remove a job’s leftovers; tried again next sweep', {
            job_id: job,
            error: errorMessage(error),
          })
        }
      }
      await store.retention.leftoversRemoved(removed)
      if (due.length < BATCH) return
    }
  }

  async #expireRecords(lease: Lease, result: SweepResult): Promise<void> {
    const { store, config, logger, metrics } = this.#deps
    for (let batch = 0; batch < MAX_BATCHES && (await this.#keep(lease)); batch++) {
      const cutoff = new Date(Date.now() - config.JOB_RETENTION_DAYS * DAY_MS)
      const ids = await store.retention.finishedBefore(cutoff, BATCH)
      for (const id of ids) {
        if (!(await this.#keep(lease))) return
        if ((await store.expireRecord(id, cutoff)) !== 'deleted') continue
        result.records++
        metrics?.retentionExpired.inc({ kind: 'record' })
        logger.debug('job record expired; deleted', { job_id: id })
      }
      if (ids.length < BATCH) return
    }
  }

  /** Go on? Not once closing, nor once the lock is lost; the lease is renewed every third of it. */
  async #keep(lease: Lease): Promise<boolean> {
    if (this.#closed || lease.lost) return false
    if (performance.now() - lease.renewedAt < lease.lock.leaseMs / 3) return true
    if (!(await lease.lock.extend())) {
      lease.lost = true
      this.#deps.logger.warn('retention lock lost (its lease ran out); sweep stopped')
      return false
    }
    lease.renewedAt = performance.now()
    return true
  }

  /** Stop: no new sweep, the running one stops at its next job and releases the lock. Safe to call twice. */
  async close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#timer)
    await Promise.all(this.#sweeps)
  }
}

interface Lease {
  lock: LeaseLock
  renewedAt: number
  lost: boolean
}
