import {
  type BlockingConnection,
  blockingConnection,
  type ChunkClaim,
  type Claim,
  errorMessage,
  type JobStore,
  type Logger,
  type MediaStorage,
  type StartResult,
  subscribeTo,
  type TranscoderMetrics,
} from '@vpp/shared'
import { encodeItem } from './chunks/encode-item.ts'
import type { EncodePlan } from './chunks/encode-plan.ts'
import type { TranscoderConfig } from './config.ts'
import { ProcessError } from './ffmpeg-process.ts'
import {
  classifyFailure,
  Health,
  type InfraFailure,
  probeHealth,
  probeTargets,
  scratchVolume,
} from './health.ts'
import { explainFailure, LostClaimError, processJob } from './process-job.ts'
import { RetentionSweeper } from './retention-sweeper.ts'
import { errorCode, ffmpegTimeoutMs, finalError, isPermanent, retryDelayMs } from './retry-policy.ts'

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

interface Active {
  entryId: string
  /** The stream it came from: jobs, or a chunk stream. */
  stream: string
  jobId: string
  claim?: Claim
  /** A chunk work item's hold, when it is one. */
  chunk?: ChunkClaim
  /** A chunked job's coordinator waiting on its items: it holds no slot. */
  released?: boolean
  /** Aborted when the claim is lost. */
  lost: AbortController
  /** Already started by the previous job's finish (finishAndTakeNext). */
  prestarted?: StartResult
  /** Aborted when the job must stop (claim lost, or shutdown past its grace): kills its ffmpeg. */
  stop: AbortController
  /** Canceled through the API (POST /jobs/{id}/cancel): stopped, nothing recorded or published. */
  canceled?: boolean
  done: Promise<void>
}

type Entry = { id: string; stream: string; message: Record<string, string> }

/** A consumer of the group idle this long, holding no entry, is a transcoder long gone. */
const CONSUMER_IDLE_MS = 24 * 3600_000
/** How often such consumers are looked for (and once at start). */
const CONSUMER_SWEEP_MS = 3600_000
/** How often uploads of discarded dead letters are removed. */
const DISCARDED_SWEEP_MS = 5000

/**
 * The stream consumer. Reads job entries with XREADGROUP, runs up to WORKER_CONCURRENCY at once,
 * and settles an entry only once its job's outcome is recorded. Alongside:
 * - a heartbeat (every CLAIM_IDLE_MS/3) keeps its pending entries fresh, so live long jobs are
 *   never taken over, and tells it when a claim was lost;
 * - XAUTOCLAIM (every CLAIM_IDLE_MS/2) takes over entries of transcoders that died;
 * - a scheduler queues retries whose backoff has elapsed;
 * - retention (RetentionSweeper) expires old outputs and records, one transcoder at a time.
 * Every outcome is fenced by the job's lease: a stale worker can neither publish nor acknowledge.
 * After SICK_AFTER_FAILURES infrastructure failures in a row (classifyFailure) it is sick: it reads
 * and claims nothing, hands back to the queue uncounted the job that made it sick and every one
 * that fails on the infrastructure after (or reaches it as it stands down), lets the others run
 * on, and probes every SICK_RETRY_MS until the probe passes.
 */
export class Transcoder {
  readonly #deps: TranscoderDeps
  readonly #active = new Map<string, Active>()
  /** Aborted on close: no new work is taken. */
  readonly #stopping = new AbortController()
  readonly #stopped = new Promise<void>((resolve) =>
    this.#stopping.signal.addEventListener('abort', () => resolve(), { once: true }),
  )
  /** Aborted when the shutdown grace is over: running ffmpeg processes are killed. */
  readonly #killing = new AbortController()
  readonly #timers: NodeJS.Timeout[] = []
  readonly #retention: RetentionSweeper
  #reader: BlockingConnection | undefined
  /** Stops listening to the cancel channel. */
  #unsubscribe: (() => Promise<void>) | undefined
  #loop: Promise<void> | undefined
  #closing: Promise<void> | undefined
  /** Resolved when a running job ends (one shared promise, however many jobs run). */
  #freeing: Promise<void> | undefined
  #freed: (() => void) | undefined
  /** XAUTOCLAIM's cursor on each stream. */
  readonly #claimCursors = new Map<string, string>()
  /** Entries read past the free slots (a blocking read served several streams): started first. */
  readonly #held: Entry[] = []
  /** Slots in use: running work, not counting coordinators that gave theirs back. */
  #busy = 0
  #lastClaimAt = 0
  /** A stalled entry waits: the next free slot takes it over (no next entry from the finish). */
  #stalledWaiting = false
  readonly #health: Health
  readonly #probe: () => Promise<InfraFailure | null>
  /** The next probe of a sick transcoder. */
  #probeTimer: NodeJS.Timeout | undefined
  /** Resolved when a sick transcoder is well again (one shared promise). */
  #recovering: Promise<void> | undefined
  #recovered: (() => void) | undefined

  constructor(deps: TranscoderDeps) {
    this.#deps = deps
    this.#retention = new RetentionSweeper(deps)
    this.#health = new Health(deps.config.SICK_AFTER_FAILURES)
    this.#probe = deps.probe ?? (() => probeHealth(probeTargets(deps.config, deps.storage)))
  }

  /** Why this transcoder stands down, and since when; null while it takes jobs. */
  get sick(): { reason: string; since: Date } | null {
    return this.#health.sick
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

  /** Longest XREADGROUP BLOCK of the read loop. */
  get #blockMs(): number {
    return Math.min(2000, this.#claimEveryMs)
  }

  get #claimEveryMs(): number {
    return Math.max(50, Math.floor(this.#deps.config.CLAIM_IDLE_MS / 2))
  }

  /** Jobs running now. */
  get activeJobs(): number {
    return this.#active.size
  }

  async start(): Promise<void> {
    const { store, logger, config } = this.#deps
    await store.group.ensure()
    // XREADGROUP BLOCK holds its connection, so it gets one of its own, with no deadline of its
    // own and a socket timeout past its longest BLOCK (the other commands keep theirs).
    const reader = await blockingConnection(store.client, this.#blockMs, logger)
    this.#reader = reader
    // Cancels reach whichever transcoder runs the job at once (its lease checks would only see
    // them at the next heartbeat).
    this.#unsubscribe = await subscribeTo(
      store.client,
      store.keys.cancelChannel,
      (jobId) => this.#cancel(jobId),
      logger,
    )
    this.#every(Math.max(50, Math.floor(config.CLAIM_IDLE_MS / 3)), () => this.#heartbeat())
    this.#every(Math.min(1000, config.RETRY_BASE_MS), () => this.#promoteDue())
    // While every slot is busy, the read loop does not look for stalled entries; this does, so a
    // dead transcoder's job gets the next free slot instead of waiting behind the whole backlog.
    this.#every(Math.max(50, Math.min(1000, Math.floor(config.CLAIM_IDLE_MS / 4))), () =>
      this.#watchStalled(),
    )
    this.#every(CONSUMER_SWEEP_MS, () => this.#removeIdleConsumers())
    this.#every(DISCARDED_SWEEP_MS, () => this.#removeDiscardedUploads())
    this.#retention.start()
    void this.#removeIdleConsumers()
    this.#loop = this.#run(reader.client)
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

  #wellAgain(): Promise<void> {
    this.#recovering ??= new Promise<void>((resolve) => {
      this.#recovered = resolve
    })
    return this.#recovering
  }

  /**
   * An attempt failed on the infrastructure: count it. Returns whether the transcoder is sick
   * (just now, or already), in which case the caller hands the job back.
   */
  #infraFailed(failure: InfraFailure): boolean {
    const { config, logger, metrics } = this.#deps
    const now = this.#health.failed(failure)
    if (now === 'healthy') {
      logger.warn('infrastructure failure', {
        reason: failure.reason,
        in_a_row: this.#health.failures,
        sick_after: config.SICK_AFTER_FAILURES,
      })
      return false
    }
    if (now === 'became') {
      metrics.healthy.set(0)
      logger.error('transcoder is sick; standing down (no new jobs) until its probe passes', {
        reason: failure.reason,
        failures: config.SICK_AFTER_FAILURES,
        probe_in_ms: config.SICK_RETRY_MS,
      })
      this.#scheduleProbe()
    }
    return true
  }

  #scheduleProbe(): void {
    if (this.#stopping.signal.aborted) return
    this.#probeTimer = setTimeout(() => void this.#runProbe(), this.#deps.config.SICK_RETRY_MS)
    this.#probeTimer.unref()
  }

  /** A sick transcoder looks again: well (taking jobs at once), or sick for the reason it found. */
  async #runProbe(): Promise<void> {
    const { logger, metrics } = this.#deps
    const sick = this.#health.sick
    if (!sick || this.#stopping.signal.aborted) return
    let found: InfraFailure | null
    try {
      found = await this.#probe()
    } catch (error) {
      found = { kind: sick.kind, reason: `${sick.reason} (the probe failed: ${errorMessage(error)})` }
    }
    if (found) {
      this.#health.stillSick(found)
      logger.warn('transcoder still sick', { reason: found.reason })
      return this.#scheduleProbe()
    }
    this.#health.recovered()
    metrics.healthy.set(1)
    logger.info('transcoder is well again; taking jobs', {
      was: sick.reason,
      sick_ms: Date.now() - sick.since.getTime(),
    })
    this.#recovered?.()
    this.#recovered = undefined
    this.#recovering = undefined
  }

  /**
   * Give a job back to the queue, its attempt not counted: it runs again at once on a healthy
   * transcoder (or here, once well).
   */
  async #handBack(claim: Claim, log: Logger): Promise<void> {
    const { store, config } = this.#deps
    const why = this.#health.sick?.reason ?? 'unhealthy'
    const reason = `Returned to the queue uncounted: transcoder ${config.consumerName} is sick (${why})`
    const now = new Date()
    if (await this.#record(() => store.returnToQueue(claim, reason, 'transcoder_unhealthy', now), log)) {
      log.warn('job handed back to the queue; this attempt does not count', { reason: why })
    } else {
      log.warn('job was taken over before it could be handed back')
    }
  }

  #slotFreed(): Promise<void> {
    this.#freeing ??= new Promise<void>((resolve) => {
      this.#freed = resolve
    })
    return this.#freeing
  }

  async #run(reader: BlockingConnection['client']): Promise<void> {
    const { config, store, logger } = this.#deps
    while (!this.#stopping.signal.aborted) {
      try {
        if (this.#health.sick) {
          // Standing down: nothing read, nothing claimed, until the probe passes (or close()).
          await Promise.race([this.#stopped, this.#wellAgain()])
          continue
        }
        if (this.#busy >= config.WORKER_CONCURRENCY) {
          // Wait for a free slot, or for close().
          await Promise.race([this.#stopped, this.#slotFreed()])
          continue
        }
        const held = this.#held.shift()
        if (held) {
          this.#begin(held)
          continue
        }
        if (this.#stalledWaiting || Date.now() - this.#lastClaimAt >= this.#claimEveryMs) {
          this.#stalledWaiting = false
          this.#lastClaimAt = Date.now()
          await this.#claimStalled()
          continue
        }
        await this.#read(reader)
      } catch (error) {
        if (this.#stopping.signal.aborted) break
        logger.warn('reading the job stream failed; retrying', { error: errorMessage(error) })
        await sleep(1000)
        // A Redis that came back empty (no append-only file, FLUSHALL, failover) lost the group.
        if (String(error).includes('NOGROUP')) await store.group.ensure().catch(() => {})
      }
    }
  }

  /**
   * Take what waits, in order: new jobs (their plans are quick, and a short one runs at once), the
   * first items of chunked jobs (a new job's turn comes early), then the other chunk items, in
   * the order queued (a running job's remaining chunks before a later job's). Non-blocking reads
   * in that order; with nothing anywhere, one blocking read of all three streams, whose extra
   * entries (it may serve several at once) are held for the next free slots.
   */
  async #read(reader: BlockingConnection['client']): Promise<void> {
    const { config, store } = this.#deps
    const streams = store.group.streams
    for (const stream of streams) {
      const free = config.WORKER_CONCURRENCY - this.#busy
      if (free <= 0) return
      const entries = await this.#readGroup(reader, [stream], free)
      if (entries.length === 0) continue
      for (const entry of entries) this.#begin(entry)
      return
    }
    const entries = await this.#readGroup(reader, streams, 1, this.#blockMs)
    for (const entry of entries) {
      if (this.#busy < config.WORKER_CONCURRENCY) this.#begin(entry)
      else this.#held.push(entry)
    }
  }

  async #readGroup(
    reader: BlockingConnection['client'],
    streams: string[],
    count: number,
    blockMs?: number,
  ): Promise<Entry[]> {
    const { config, store } = this.#deps
    const reply = (await reader.xReadGroup(
      store.keys.group,
      config.consumerName,
      streams.map((key) => ({ key, id: '>' })),
      blockMs === undefined ? { COUNT: count } : { COUNT: count, BLOCK: blockMs },
    )) as Array<{ name: string; messages: Array<{ id: string; message: Record<string, string> }> }> | null
    return (reply ?? []).flatMap((stream) => stream.messages.map((m) => ({ ...m, stream: stream.name })))
  }

  /** XAUTOCLAIM: take over entries idle longer than CLAIM_IDLE_MS (their transcoder died), on every stream. */
  async #claimStalled(): Promise<void> {
    const { config, store, logger } = this.#deps
    for (const stream of store.group.streams) {
      const free = config.WORKER_CONCURRENCY - this.#busy
      if (free <= 0) return
      const reply = await store.group.claimStalled(
        config.consumerName,
        config.CLAIM_IDLE_MS,
        this.#claimCursors.get(stream) ?? '0-0',
        free,
        stream,
      )
      this.#claimCursors.set(stream, reply.cursor)
      // Entries deleted from the stream while pending: their job can never be delivered again (a
      // chunk item's coordinator queues it again).
      for (const entryId of stream === store.keys.stream ? reply.deleted : []) {
        const jobId = await store.failLostEntry(entryId, new Date())
        logger.warn('pending entry was deleted; job dead-lettered', { entry_id: entryId, job_id: jobId })
      }
      for (const message of reply.messages) {
        if (this.#active.has(message.id)) continue
        logger.warn('taking over stalled work', {
          job_id: message.message.job_id,
          item: message.message.item,
          entry_id: message.id,
        })
        this.#deps.metrics.recovered.inc()
        this.#begin({ ...message, stream })
      }
    }
  }

  /**
   * Remove the files of deleted jobs (DELETE /jobs/{id}: outputs and upload), and the uploads kept
   * for dead letters that were discarded (DELETE /dlq/{id}).
   */
  async #removeDiscardedUploads(): Promise<void> {
    const { store, storage, logger } = this.#deps
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

  /** With every slot busy: is a dead transcoder's entry waiting? Then the next free slot is its. */
  async #watchStalled(): Promise<void> {
    const { config, store, logger } = this.#deps
    if (this.#stalledWaiting || this.#busy < config.WORKER_CONCURRENCY) return
    try {
      this.#stalledWaiting = await store.group.hasStalled(config.CLAIM_IDLE_MS)
    } catch (error) {
      logger.warn('looking for stalled jobs failed', { error: errorMessage(error) })
    }
  }

  /** Forget consumers gone for a day (each transcoder start is a new one) that hold nothing. */
  async #removeIdleConsumers(): Promise<void> {
    const { config, store, logger } = this.#deps
    try {
      const removed = await store.group.removeIdleConsumers(config.consumerName, CONSUMER_IDLE_MS)
      if (removed.length > 0) logger.info('idle consumers removed', { consumers: removed })
    } catch (error) {
      logger.warn('removing idle consumers failed', { error: errorMessage(error) })
    }
  }

  #begin(entry: Entry, prestarted?: StartResult): void {
    // Read just as close() began: leave it pending for another transcoder.
    if (this.#stopping.signal.aborted) return
    const active: Active = {
      entryId: entry.id,
      stream: entry.stream,
      jobId: entry.message.job_id ?? '',
      lost: new AbortController(),
      stop: new AbortController(),
      prestarted,
      done: Promise.resolve(),
    }
    this.#busy++
    const item = entry.message.item
    const work = item !== undefined ? this.#handleChunk(active, item) : this.#handle(active)
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
    const { config, store, metrics } = this.#deps
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
      const claim = started.claim
      active.claim = claim
      const attempt = started.attempts
      const log = logger.child({ attempt })
      if (this.#health.sick) {
        // Read (or handed over by the last finish) just as this transcoder stood down.
        await this.#handBack(claim, log)
        return
      }
      if (attempt > config.MAX_ATTEMPTS) {
        // Only a takeover gets here: the transcoders running it kept dying (OOM kill, crash).
        const error = `Gave up after ${attempt - 1} attempts: the transcoder running it stopped before finishing`
        const now = new Date()
        await this.#record(
          () => store.finish(claim, { status: 'failed', error, code: 'worker_lost' }, now),
          log,
        )
        this.#countFailed()
        log.error('job dead-lettered', { error })
        return
      }
      const job = started.job

      const startedAt = performance.now()
      if (attempt === 1)
        metrics.queueWait.observe(Math.max(0, Date.now() - Date.parse(job.created_at)) / 1000)
      metrics.active.inc()
      log.info('job started', { filename: job.filename, taken_over: started.before === 'processing' })
      let result: Awaited<ReturnType<typeof processJob>>
      try {
        result = await (this.#deps.process ?? processJob)(job, {
          ...this.#deps,
          logger: log,
          signal: active.stop.signal,
          // Asked before publishing: Redis being slow or away is waited out, not taken for a no.
          stillOwner: () => this.#record(() => store.heartbeat(claim, config.consumerName), log),
          chunking: {
            work: store.chunks,
            claim,
            release: () => {
              if (active.released) return
              active.released = true
              this.#release()
            },
          },
          onProgress: (percent, eta) => {
            store.reportProgress(claim, percent, eta).catch(() => {}) // progress is best effort
          },
        })
      } catch (error) {
        await this.#failed(claim, attempt, error, active, log, performance.now() - startedAt)
        return
      } finally {
        metrics.active.dec()
      }
      await this.#completed(claim, result, log, startedAt)
    } catch (error) {
      // Redis could not record the outcome: the entry stays pending and XAUTOCLAIM recovers it.
      // (Never recorded as a failure of the job: the job did not fail, Redis did.)
      logger.error('could not record the job outcome; it will be recovered', {
        entry_id: entryId,
        error: errorMessage(error),
      })
    }
  }

  /**
   * Run one chunk work item to its end: started under a new lease, encoded (encodeItem), its
   * outcome recorded only while the lease is still this transcoder's. Never rejects.
   */
  async #handleChunk(active: Active, item: string): Promise<void> {
    const { config, store, metrics, storage } = this.#deps
    const { jobId } = active
    const log = this.#deps.logger.child({ job_id: jobId, item })
    try {
      const started = await store.chunks.start(
        jobId,
        item,
        active.stream,
        active.entryId,
        config.consumerName,
      )
      if (!started.started) {
        log.debug('chunk entry settled without work', { why: started.why, entry_id: active.entryId })
        return
      }
      const claim = started.claim
      active.chunk = claim
      const attempt = started.attempts
      if (this.#health.sick) {
        const reason = `Returned uncounted: transcoder ${config.consumerName} is sick`
        await this.#record(
          () =>
            store.chunks.finish(claim, {
              outcome: 'retry',
              error: reason,
              code: 'transcoder_unhealthy',
              due: new Date(),
              uncounted: true,
            }),
          log,
        )
        return
      }
      if (attempt > config.MAX_ATTEMPTS) {
        const error = `Gave up after ${attempt - 1} attempts: the transcoder running it stopped before finishing`
        await this.#record(
          () => store.chunks.finish(claim, { outcome: 'failed', error, code: 'worker_lost' }),
          log,
        )
        metrics.chunks.inc({ status: 'failed' })
        return
      }
      const plan = JSON.parse(started.plan) as EncodePlan
      const begun = performance.now()
      let reported = 0
      const timeoutMs = ffmpegTimeoutMs(config.FFMPEG_TIMEOUT, config.MAX_DURATION_SECONDS)
      metrics.active.inc()
      try {
        const result = await encodeItem(plan, item, claim.lease, {
          jobId,
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
        const recorded = await this.#record(
          () => store.chunks.finish(claim, { outcome: 'done', result: JSON.stringify(result) }),
          log,
        )
        this.#health.succeeded()
        const seconds = (performance.now() - begun) / 1000
        metrics.chunks.inc({ status: recorded ? 'completed' : 'lost' })
        metrics.chunkDuration.observe(seconds)
        if (recorded) log.info('chunk done', { attempt, duration_ms: Math.round(seconds * 1000) })
        else log.warn('chunk was taken over before its result was recorded; result dropped')
      } catch (error) {
        await this.#chunkFailed(claim, attempt, error, active, log)
      } finally {
        metrics.active.dec()
      }
    } catch (error) {
      // Redis could not record the outcome: the entry stays pending and XAUTOCLAIM recovers it.
      log.error('could not record the chunk outcome; it will be recovered', { error: errorMessage(error) })
    }
  }

  async #chunkFailed(claim: ChunkClaim, attempt: number, error: unknown, active: Active, log: Logger) {
    const { config, store, metrics } = this.#deps
    if (active.canceled || active.lost.signal.aborted || error instanceof LostClaimError) {
      metrics.chunks.inc({ status: 'lost' })
      log.info('chunk stopped: its job was canceled, or it was taken over')
      return
    }
    if (this.#killing.signal.aborted) {
      log.warn('chunk stopped by shutdown; left pending for another transcoder')
      return
    }
    const message = errorMessage(error)
    const code = errorCode(error)
    const run = error instanceof ProcessError ? error : (error as Error | undefined)?.cause
    if (run instanceof ProcessError) metrics.ffmpegFailures.inc({ reason: run.reason })
    const infra = classifyFailure(error)
    if (infra && this.#infraFailed(infra)) {
      const reason = `Returned uncounted: transcoder ${config.consumerName} is sick (${infra.reason})`
      const due = new Date()
      await this.#record(
        () => store.chunks.finish(claim, { outcome: 'retry', error: reason, code, due, uncounted: true }),
        log,
      )
      return
    }
    if (isPermanent(error) || attempt >= config.MAX_ATTEMPTS) {
      const final = finalError(message, attempt)
      if (
        await this.#record(() => store.chunks.finish(claim, { outcome: 'failed', error: final, code }), log)
      ) {
        metrics.chunks.inc({ status: 'failed' })
        log.error('chunk failed; its job fails', {
          error: final,
          stderr: run instanceof ProcessError ? run.stderr.slice(-1000) : undefined,
        })
      }
      return
    }
    const due = new Date(Date.now() + retryDelayMs(attempt, config.RETRY_BASE_MS, config.RETRY_MAX_MS))
    if (
      await this.#record(
        () => store.chunks.finish(claim, { outcome: 'retry', error: message, code, due }),
        log,
      )
    ) {
      metrics.chunks.inc({ status: 'retrying' })
      log.warn('chunk failed; will retry', { error: message, retry_at: due.toISOString() })
    }
  }

  /** Record a finished job (and take the next entry in the same step), then tidy up and count. */
  async #completed(
    claim: Claim,
    { outputs, skipped, leftovers }: Awaited<ReturnType<typeof processJob>>,
    log: Logger,
    startedAt: number,
  ): Promise<void> {
    const { config, store, metrics } = this.#deps
    // Decided once: a retry after a lost reply must ask for the same thing as the first call.
    // With a backlog, the next entry comes with this answer: no XREADGROUP, no start. Not while
    // closing, nor while a stalled entry waits for the slot this frees.
    this.#health.succeeded()
    const takeNext =
      this.#stopping.signal.aborted || this.#stalledWaiting || this.#health.sick ? '' : config.consumerName
    const now = new Date()
    // The stream as it was published while encoding, kept a while for players that started on it,
    // then removed by the retention sweep: listed before the job is recorded, so that no crash
    // between the two leaves it behind for good (a takeover that completes lists it again).
    if (leftovers)
      await this.#record(
        () => store.retention.keepUntil(claim.jobId, leftovers.folders, leftovers.until),
        log,
      )
    const { recorded, next } = await this.#record(
      () => store.finishAndTakeNext(claim, { status: 'completed', outputs, skipped }, now, takeNext),
      log,
    )
    if (next)
      this.#begin(
        { id: next.entryId, stream: store.keys.stream, message: { job_id: next.jobId } },
        next.start,
      )
    if (!recorded) return log.warn('job was taken over before its result was recorded; result dropped')
    // The renditions are published: the upload is no longer needed (failed jobs keep theirs,
    // for a retry from the dead-letter queue).
    await Promise.all([
      this.#deps.storage.removeUpload(claim.jobId),
      this.#deps.storage.removePieces(claim.jobId),
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

  async #failed(
    claim: Claim,
    attempt: number,
    error: unknown,
    active: Active,
    log: Logger,
    ms: number,
  ): Promise<void> {
    const { config, store, metrics } = this.#deps
    if (active.canceled) {
      log.info('job canceled; this attempt is dropped')
      return
    }
    if (active.lost.signal.aborted || error instanceof LostClaimError) {
      log.warn('job was taken over by another transcoder; this attempt is dropped')
      return
    }
    if (this.#killing.signal.aborted || (active.released && this.#stopping.signal.aborted)) {
      log.warn('job stopped by shutdown; left pending for another transcoder')
      return
    }
    const message = errorMessage(error)
    const code = errorCode(error)
    // A run killed at the timeout ceiling comes as a PermanentJobError caused by the ProcessError.
    const run = error instanceof ProcessError ? error : (error as Error | undefined)?.cause
    const stderr = run instanceof ProcessError ? run.stderr.slice(-1000) : undefined
    if (run instanceof ProcessError) metrics.ffmpegFailures.inc({ reason: run.reason })
    const infra = classifyFailure(error)
    if (infra && this.#infraFailed(infra)) {
      log.warn('job failed on a sick transcoder', { error: message, stderr, duration_ms: Math.round(ms) })
      await this.#handBack(claim, log)
      return
    }
    if (isPermanent(error) || attempt >= config.MAX_ATTEMPTS) {
      const final = finalError(message, attempt)
      const now = new Date()
      const recorded = await this.#record(
        () => store.finish(claim, { status: 'failed', error: final, code }, now),
        log,
      )
      if (!recorded) return
      this.#countFailed()
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
    if (await this.#record(() => store.retryLater(claim, message, code, due, now), log)) {
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
  #countFailed(): void {
    const { metrics, config } = this.#deps
    metrics.processed.inc({ status: 'failed', profile: 'all' })
    for (const profile of config.profiles) metrics.processed.inc({ status: 'failed', profile: profile.name })
  }

  /**
   * Record an outcome, retrying while Redis is unreachable (a restart takes seconds). Returns
   * what the store said; throws when Redis stayed away (the entry then stays pending).
   */
  async #record<T>(write: () => Promise<T>, log: Logger): Promise<T> {
    for (let attempt = 0, delay = 250; ; attempt++, delay = Math.min(delay * 2, 5000)) {
      try {
        return await write()
      } catch (error) {
        if (attempt >= 12) throw error
        log.warn('recording the outcome failed; retrying', { error: errorMessage(error), retry_in_ms: delay })
        await sleep(delay)
      }
    }
  }

  async #heartbeat(): Promise<void> {
    const { store, config, logger } = this.#deps
    for (const active of this.#active.values()) {
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

  async #promoteDue(): Promise<void> {
    try {
      const now = new Date()
      const queued = await this.#deps.store.promoteDue(now)
      if (queued > 0) this.#deps.logger.info('retries queued', { count: queued })
      const chunks = await this.#deps.store.chunks.promoteDue(now)
      if (chunks > 0) this.#deps.logger.info('chunk retries queued', { count: chunks })
    } catch (error) {
      this.#deps.logger.debug('queueing due retries failed', { error: errorMessage(error) })
    }
  }

  /**
   * Stop taking work, let running jobs finish within SHUTDOWN_GRACE_MS, then kill their ffmpeg
   * and leave their entries pending (unacknowledged) for another transcoder. Safe to call twice.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#stopping.abort()
      clearTimeout(this.#probeTimer)
      // Coordinators of chunked jobs only wait: they stop at once, their jobs left pending for
      // another transcoder (which picks up the recorded plan).
      for (const active of this.#active.values()) if (active.released) active.stop.abort()
      void this.#reader?.close() // ends a blocking XREADGROUP now rather than after BLOCK
      void this.#unsubscribe?.()
      // A sweep under way stops at its next job and releases its lock (before Redis is closed).
      const retention = this.#retention.close()
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
      for (const timer of this.#timers) clearInterval(timer)
      await retention
    })()
    return this.#closing
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
