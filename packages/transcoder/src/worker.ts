import {
  type BlockingConnection,
  type Claim,
  errorMessage,
  type GroupEntry,
  type GroupReader,
  type JobStore,
  type Logger,
  type MediaStorage,
  type StartResult,
  type TranscoderMetrics,
} from '@vpp/shared'
import { type Active, newActive } from './active.ts'
import { runChunkItem } from './chunks/worker-items.ts'
import type { TranscoderConfig } from './config.ts'
import { type InfraFailure, probeHealth, probeTargets } from './health.ts'
import { Maintenance } from './maintenance.ts'
import { type JobResult, Outcomes, record } from './outcome.ts'
import { processJob } from './process-job.ts'
import { SickState } from './sick-state.ts'

export interface TranscoderDeps {
  config: TranscoderConfig
  store: JobStore
  storage: MediaStorage
  logger: Logger
  metrics: TranscoderMetrics
  /** What a job is (default processJob: ffmpeg). The queue benchmark passes a no-op. */
  process?: typeof processJob
  /** What a sick transcoder checks before it takes jobs again (default probeHealth of probeTargets). */
  probe?: () => Promise<InfraFailure | null>
}

/**
 * The stream consumer. Reads job entries and chunk work items (GroupReader: XREADGROUP in
 * priority order, XAUTOCLAIM of a dead transcoder's entries), runs up to WORKER_CONCURRENCY at
 * once, and settles an entry only once its job's outcome is recorded (Outcomes; chunk items:
 * runChunkItem). Alongside, Maintenance's timers: heartbeats, due retries, stalled entries, idle
 * consumers, files of deleted jobs, retention. Every outcome is fenced by the job's lease: a stale
 * worker can neither publish nor acknowledge.
 * After SICK_AFTER_FAILURES infrastructure failures in a row (SickState) it is sick: it reads
 * and claims nothing, hands back to the queue uncounted the job that made it sick and every one
 * that fails on the infrastructure after (or reaches it as it stands down), lets the others run
 * on, and probes every SICK_RETRY_MS until the probe passes.
 */
export class Transcoder {
  readonly #deps: TranscoderDeps
  readonly #active = new Map<string, Active>()
  /** Aborted on close: no new work is taken. */
  readonly #stopping = new AbortController()
  /** Aborted when the shutdown grace is over: running ffmpeg processes are killed. */
  readonly #killing = new AbortController()
  readonly #sick: SickState
  readonly #outcomes: Outcomes
  readonly #maintenance: Maintenance
  #blocking: BlockingConnection | undefined
  #reader: GroupReader | undefined
  /** Stops listening to the cancel channel. */
  #unsubscribe: (() => Promise<void>) | undefined
  #loop: Promise<void> | undefined
  #closing: Promise<void> | undefined
  /** Resolved when a running job ends (one shared promise, however many jobs run). */
  #freeing: Promise<void> | undefined
  #freed: (() => void) | undefined
  /** Slots in use: running work, not counting coordinators that gave theirs back. */
  #busy = 0

  constructor(deps: TranscoderDeps) {
    this.#deps = deps
    this.#sick = new SickState({
      ...deps,
      probe: deps.probe ?? (() => probeHealth(probeTargets(deps.config, deps.storage))),
    })
    const signals = { stopping: this.#stopping.signal, killing: this.#killing.signal }
    this.#outcomes = new Outcomes({ ...deps, sick: this.#sick, ...signals })
    this.#maintenance = new Maintenance(deps, {
      active: () => this.#active.values(),
      watchStalled: async () => this.#reader?.watchStalled(),
    })
  }

  /** Why this transcoder stands down, and since when; null while it takes jobs. */
  get sick(): { reason: string; since: Date } | null {
    return this.#sick.sick
  }

  /** Jobs running now. */
  get activeJobs(): number {
    return this.#active.size
  }

  /** Longest XREADGROUP BLOCK of the read loop. */
  get #blockMs(): number {
    return Math.min(2000, this.#claimEveryMs)
  }

  get #claimEveryMs(): number {
    return Math.max(50, Math.floor(this.#deps.config.CLAIM_IDLE_MS / 2))
  }

  async start(): Promise<void> {
    const { store, logger, config } = this.#deps
    await store.group.ensure()
    // XREADGROUP BLOCK holds its connection, so it gets one of its own, with no deadline of its
    // own and a socket timeout past its longest BLOCK (the other commands keep theirs).
    this.#blocking = await store.blockingConnection(this.#blockMs, logger)
    this.#reader = store.group.reader({
      reader: this.#blocking.client,
      consumer: config.consumerName,
      blockMs: this.#blockMs,
      claimIdleMs: config.CLAIM_IDLE_MS,
      claimEveryMs: this.#claimEveryMs,
      signal: this.#stopping.signal,
      // Standing down (sick): nothing read, nothing claimed, until the probe passes (or close()).
      paused: () => (this.#sick.sick ? this.#sick.wellAgain() : null),
      room: () => config.WORKER_CONCURRENCY - this.#busy,
      roomFreed: () => this.#slotFreed(),
      onEntry: (entry, claimed) => this.#take(entry, claimed),
      onDeleted: (stream, ids) => this.#lostEntries(stream, ids),
      onError: (error) =>
        logger.warn('reading the job stream failed; retrying', { error: errorMessage(error) }),
    })
    // Cancels reach whichever transcoder runs the job at once (its lease checks would only see
    // them at the next heartbeat).
    this.#unsubscribe = await store.onCancel((jobId) => this.#cancel(jobId), logger)
    this.#maintenance.start()
    this.#loop = this.#reader.run()
  }

  /** Stop a running job canceled through the API: its ffmpeg is killed, nothing is published. */
  #cancel(jobId: string): void {
    for (const active of this.#active.values()) {
      if (active.jobId !== jobId || active.stop.signal.aborted) continue
      this.#deps.logger.info('job canceled; stopping it', { job_id: jobId })
      active.canceled = true
      active.lost.abort()
      active.stop.abort()
    }
  }

  /** An entry the reader read, or took over from a dead transcoder. */
  #take(entry: GroupEntry, claimed: boolean): void {
    if (claimed) {
      if (this.#active.has(entry.id)) return
      this.#deps.logger.warn('taking over stalled work', {
        job_id: entry.message.job_id,
        item: entry.message.item,
        entry_id: entry.id,
      })
      this.#deps.metrics.recovered.inc()
    }
    this.#begin(entry)
  }

  /**
   * Entries deleted from the jobs stream while pending: their job can never be delivered again (a
   * chunk item's coordinator queues it again).
   */
  async #lostEntries(stream: string, entryIds: string[]): Promise<void> {
    const { store, logger } = this.#deps
    if (stream !== store.keys.stream) return
    for (const entryId of entryIds) {
      const jobId = await store.failLostEntry(entryId, new Date())
      logger.warn('pending entry was deleted; job dead-lettered', { entry_id: entryId, job_id: jobId })
    }
  }

  #slotFreed(): Promise<void> {
    this.#freeing ??= new Promise<void>((resolve) => {
      this.#freed = resolve
    })
    return this.#freeing
  }

  #begin(entry: GroupEntry, prestarted?: StartResult): void {
    // Read just as close() began: leave it pending for another transcoder.
    if (this.#stopping.signal.aborted) return
    const active = newActive(entry.id, entry.stream, entry.message.job_id ?? '', prestarted)
    this.#busy++
    const item = entry.message.item
    const work =
      item !== undefined
        ? runChunkItem(active, item, { ...this.#deps, sick: this.#sick, killing: this.#killing.signal })
        : this.#handle(active)
    active.done = work.finally(() => {
      this.#active.delete(entry.id)
      if (!active.released) this.#release()
    })
    this.#active.set(entry.id, active)
  }

  /** A slot is free again. */
  #release(): void {
    this.#busy--
    this.#freed?.()
    this.#freed = undefined
    this.#freeing = undefined
  }

  /** Run one entry's job to its end. Never rejects: every outcome is recorded or logged. */
  async #handle(active: Active): Promise<void> {
    const { config, store } = this.#deps
    const { jobId, entryId } = active
    const logger = this.#deps.logger.child({ job_id: jobId })
    try {
      const started =
        active.prestarted ??
        (jobId
          ? await store.start(jobId, entryId, config.consumerName, new Date())
          : ({ started: false, status: null } as const))
      if (!started.started) {
        logger.warn('stream entry names no runnable job; settling it', {
          entry_id: entryId,
          status: started.status,
        })
        await store.group.settle(entryId)
        return
      }
      active.claim = started.claim
      const log = logger.child({ attempt: started.attempts })
      // Read (or handed over by the last finish) just as this transcoder stood down.
      if (this.#sick.sick) return await this.#outcomes.handBack(started.claim, log)
      // Only a takeover gets here: the transcoders running it kept dying (OOM kill, crash).
      if (started.attempts > config.MAX_ATTEMPTS)
        return await this.#outcomes.gaveUp(started.claim, started.attempts, log)
      await this.#attempt(active, started, log)
    } catch (error) {
      // Redis could not record the outcome: the entry stays pending and XAUTOCLAIM recovers it.
      // (Never recorded as a failure of the job: the job did not fail, Redis did.)
      logger.error('could not record the job outcome; it will be recovered', {
        entry_id: entryId,
        error: errorMessage(error),
      })
    }
  }

  /** One attempt at a started job: processed, then its outcome recorded. */
  async #attempt(active: Active, started: StartResult & { started: true }, log: Logger): Promise<void> {
    const { config, store, metrics } = this.#deps
    const { claim, attempts: attempt, job } = started
    const startedAt = performance.now()
    if (attempt === 1) metrics.queueWait.observe(Math.max(0, Date.now() - Date.parse(job.created_at)) / 1000)
    metrics.active.inc()
    log.info('job started', { filename: job.filename, taken_over: started.before === 'processing' })
    let result: JobResult
    try {
      result = await (this.#deps.process ?? processJob)(job, {
        ...this.#deps,
        logger: log,
        signal: active.stop.signal,
        // Asked before publishing: Redis being slow or away is waited out, not taken for a no.
        stillOwner: () => record(() => store.heartbeat(claim, config.consumerName), log),
        chunking: { work: store.chunks, claim, release: () => this.#giveBackSlot(active) },
        onProgress: (percent, eta) => {
          store.reportProgress(claim, percent, eta).catch(() => {}) // progress is best effort
        },
      })
    } catch (error) {
      await this.#outcomes.failed(claim, attempt, error, active, log, performance.now() - startedAt)
      return
    } finally {
      metrics.active.dec()
    }
    await this.#completed(claim, result, log, startedAt)
  }

  /** A chunked job's coordinator waits on its items: its slot goes to them. */
  #giveBackSlot(active: Active): void {
    if (active.released) return
    active.released = true
    this.#release()
  }

  #completed(claim: Claim, result: JobResult, log: Logger, startedAt: number): Promise<void> {
    this.#sick.succeeded()
    // With a backlog, the next entry comes with this answer: no XREADGROUP, no start. Not while
    // closing, nor while a stalled entry waits for the slot this frees.
    const takeNext =
      this.#stopping.signal.aborted || this.#reader?.takeOverPending || this.#sick.sick
        ? ''
        : this.#deps.config.consumerName
    return this.#outcomes.completed(claim, result, log, startedAt, {
      consumer: takeNext,
      begin: (entryId, jobId, start) =>
        this.#begin({ id: entryId, stream: this.#deps.store.keys.stream, message: { job_id: jobId } }, start),
    })
  }

  /**
   * Stop taking work, let running jobs finish within SHUTDOWN_GRACE_MS, then kill their ffmpeg
   * and leave their entries pending (unacknowledged) for another transcoder. Safe to call twice.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#stopping.abort()
      this.#sick.close()
      // Coordinators of chunked jobs only wait: they stop at once, their jobs left pending for
      // another transcoder (which picks up the recorded plan).
      for (const active of this.#active.values()) if (active.released) active.stop.abort()
      void this.#blocking?.close() // ends a blocking XREADGROUP now rather than after BLOCK
      void this.#unsubscribe?.()
      // A sweep under way stops at its next job and releases its lock (before Redis is closed).
      const retention = this.#maintenance.closeRetention()
      await this.#loop
      const running = Promise.allSettled([...this.#active.values()].map((a) => a.done))
      let timer: NodeJS.Timeout | undefined
      const graceOver = await Promise.race([
        running.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), this.#deps.config.SHUTDOWN_GRACE_MS)
        }),
      ])
      clearTimeout(timer)
      if (graceOver) {
        this.#deps.logger.warn('shutdown grace over; stopping running jobs', { jobs: this.#active.size })
        this.#killing.abort()
        for (const active of this.#active.values()) active.stop.abort()
        await running
      }
      this.#maintenance.stopTimers()
      await retention
    })()
    return this.#closing
  }
}
