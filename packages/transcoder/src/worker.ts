import {
  errorMessage,
  type JobStore,
  type Logger,
  type RedisClient,
  type TranscoderMetrics,
} from '@vpp/shared'
import type { LocalUploadStorage } from '@vpp/shared/node'
import type { TranscoderConfig } from './config.ts'
import { ProcessError } from './ffmpeg-process.ts'
import { processJob } from './process-job.ts'

export interface TranscoderDeps {
  config: TranscoderConfig
  store: JobStore
  storage: LocalUploadStorage
  logger: Logger
  metrics: TranscoderMetrics
}

/** How long one XREADGROUP waits for new entries before looping (and noticing a close). */
const BLOCK_MS = 2000

/**
 * The stream consumer: reads job entries with XREADGROUP (one consumer of the group), runs up
 * to WORKER_CONCURRENCY of them at once, and settles each entry only once its job's result is
 * recorded. On close it stops reading, kills its ffmpeg processes and puts their jobs back on
 * the queue.
 */
export class Transcoder {
  readonly #deps: TranscoderDeps
  readonly #active = new Map<string, Promise<void>>()
  readonly #abort = new AbortController()
  #reader: RedisClient | undefined
  #loop: Promise<void> | undefined
  #closing: Promise<void> | undefined

  constructor(deps: TranscoderDeps) {
    this.#deps = deps
  }

  /** Jobs running now. */
  get activeJobs(): number {
    return this.#active.size
  }

  async start(): Promise<void> {
    const { store, logger } = this.#deps
    await store.ensureGroup()
    // XREADGROUP BLOCK holds its connection, so it gets one of its own.
    const reader = store.client.duplicate()
    reader.on('error', (error: Error) => logger.warn('redis reader error', { error: error.message }))
    await reader.connect()
    this.#reader = reader
    this.#loop = this.#run(reader)
  }

  async #run(reader: RedisClient): Promise<void> {
    const { config, store, logger } = this.#deps
    while (!this.#abort.signal.aborted) {
      if (this.#active.size >= config.WORKER_CONCURRENCY) {
        await Promise.race(this.#active.values())
        continue
      }
      let reply: Awaited<ReturnType<RedisClient['xReadGroup']>>
      try {
        reply = await reader.xReadGroup(
          store.keys.group,
          config.consumerName,
          { key: store.keys.stream, id: '>' },
          { COUNT: config.WORKER_CONCURRENCY - this.#active.size, BLOCK: BLOCK_MS },
        )
      } catch (error) {
        if (this.#abort.signal.aborted) break
        logger.warn('reading the job stream failed; retrying', { error: errorMessage(error) })
        await new Promise((resolve) => setTimeout(resolve, 1000))
        continue
      }
      for (const stream of (reply ?? []) as Array<{
        messages: Array<{ id: string; message: Record<string, string> }>
      }>) {
        for (const entry of stream.messages) {
          const done = this.#handle(entry.id, entry.message.job_id ?? '').finally(() =>
            this.#active.delete(entry.id),
          )
          this.#active.set(entry.id, done)
        }
      }
    }
  }

  /** Run one entry's job to its end. Never rejects: every outcome is recorded or logged. */
  async #handle(entryId: string, jobId: string): Promise<void> {
    const { store, metrics } = this.#deps
    const logger = this.#deps.logger.child({ job_id: jobId })
    try {
      const before = jobId ? await store.start(jobId, new Date()) : null
      const job = before === 'queued' || before === 'processing' ? await store.get(jobId) : null
      if (!job) {
        logger.warn('stream entry names no runnable job; settling it', { entry_id: entryId, status: before })
        await store.settle(entryId)
        return
      }
      const started = performance.now()
      metrics.active.inc()
      logger.info('job started', { attempt: job.attempts, filename: job.filename })
      try {
        const outputs = await processJob(job, { ...this.#deps, logger, signal: this.#abort.signal })
        await store.finish(jobId, entryId, { status: 'completed', outputs }, new Date())
        metrics.processed.inc({ status: 'completed', profile: 'all' })
        for (const output of outputs) metrics.processed.inc({ status: 'completed', profile: output.profile })
        metrics.duration.observe({ profile: 'all' }, (performance.now() - started) / 1000)
        logger.info('job completed', {
          duration_ms: Math.round(performance.now() - started),
          outputs: outputs.length,
        })
      } catch (error) {
        if (this.#abort.signal.aborted) {
          await store.requeue(jobId, entryId, new Date())
          logger.info('job interrupted by shutdown; requeued')
          return
        }
        const message = errorMessage(error)
        await store.finish(jobId, entryId, { status: 'failed', error: message }, new Date())
        metrics.processed.inc({ status: 'failed', profile: 'all' })
        const stderr = error instanceof ProcessError ? error.stderr.slice(-1000) : undefined
        logger.error('job failed', {
          error: message,
          stderr,
          duration_ms: Math.round(performance.now() - started),
        })
      } finally {
        metrics.active.dec()
      }
    } catch (error) {
      // Redis could not record the outcome: the entry stays pending in the group.
      logger.error('could not record the job outcome', { entry_id: entryId, error: errorMessage(error) })
    }
  }

  /** Stop reading, kill running ffmpeg processes, requeue their jobs. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#abort.abort()
      this.#reader?.destroy() // ends a blocking XREADGROUP now rather than after BLOCK_MS
      await this.#loop
      await Promise.allSettled(this.#active.values())
    })()
    return this.#closing
  }
}
