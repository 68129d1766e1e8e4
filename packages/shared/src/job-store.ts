import { type Job, JobSchema, type JobStatus, type Output, type Stats } from './job.ts'
import type { Logger } from './logger.ts'
import { closeRedis, connectRedis, type RedisClient } from './redis.ts'
import { type RedisKeys, redisKeys } from './redis-keys.ts'
import { FINISH_JOB_LUA } from './scripts/finish-job.ts'
import { REQUEUE_JOB_LUA } from './scripts/requeue-job.ts'
import { START_JOB_LUA } from './scripts/start-job.ts'

/** `processing_rate_per_minute` counts jobs finished over this window. */
export const RATE_WINDOW_MS = 5 * 60_000
/** How long the finished-jobs set keeps an entry (only the rate window is read). */
const FINISHED_RETENTION_MS = 60 * 60_000

type Script = { source: string; sha?: string }
type ScriptName = 'start' | 'finish' | 'requeue'

/** Job records, status counters and the jobs stream, shared by ingest, status and transcoder. */
export class JobStore {
  readonly #scripts: Record<ScriptName, Script> = {
    start: { source: START_JOB_LUA },
    finish: { source: FINISH_JOB_LUA },
    requeue: { source: REQUEUE_JOB_LUA },
  }

  constructor(
    readonly client: RedisClient,
    readonly keys: RedisKeys,
  ) {}

  /** Create the consumer group (from the stream's start, so no entry is ever skipped). */
  async ensureGroup(): Promise<void> {
    try {
      await this.client.xGroupCreate(this.keys.stream, this.keys.group, '0', { MKSTREAM: true })
    } catch (error) {
      if (!String(error).includes('BUSYGROUP')) throw error
    }
  }

  /** Store a new job and queue it, atomically: a job is never queued without its record. */
  async create(job: Job): Promise<void> {
    await this.client
      .multi()
      .hSet(this.keys.job(job.job_id), toHash(job))
      .hIncrBy(this.keys.statusCounts, job.status, 1)
      .incr(this.keys.totalJobs)
      .xAdd(this.keys.stream, '*', { job_id: job.job_id })
      .exec()
  }

  async get(id: string): Promise<Job | null> {
    const hash = await this.client.hGetAll(this.keys.job(id))
    return fromHash(hash)
  }

  /**
   * Mark a job `processing` and count the attempt. Returns the status it had before: the caller
   * goes on only for `queued` or `processing` (a redelivery).
   */
  async start(id: string, now: Date): Promise<JobStatus | null> {
    const before = await this.#eval('start', [this.keys.job(id), this.keys.statusCounts], [now.toISOString()])
    return before === '' ? null : (before as JobStatus)
  }

  /**
   * Publish a job's end (`completed` with outputs, or `failed` with an error, which also adds it to
   * the dead-letter stream), then XACK and XDEL its stream entry, in one atomic step.
   * Returns false when the job was not `processing` (nothing changed; the entry is still settled).
   */
  async finish(
    id: string,
    entryId: string,
    result: { status: 'completed'; outputs: Output[] } | { status: 'failed'; error: string },
    now: Date,
  ): Promise<boolean> {
    const k = this.keys
    const moved = await this.#eval(
      'finish',
      [k.job(id), k.statusCounts, k.stream, k.finished, k.dlq],
      [
        k.group,
        entryId,
        result.status,
        now.toISOString(),
        String(now.getTime()),
        JSON.stringify(result.status === 'completed' ? result.outputs : []),
        result.status === 'failed' ? result.error : '',
        String(FINISHED_RETENTION_MS),
      ],
    )
    return moved === 1
  }

  /**
   * Give a job back to the queue (its transcoder is shutting down): `processing` -> `queued` with
   * a fresh stream entry, and the old entry settled, atomically.
   */
  async requeue(id: string, entryId: string, now: Date): Promise<boolean> {
    const k = this.keys
    const moved = await this.#eval(
      'requeue',
      [k.job(id), k.statusCounts, k.stream],
      [k.group, entryId, now.toISOString()],
    )
    return moved === 1
  }

  /** Settle a stream entry that names no job we can run (acknowledged and deleted). */
  async settle(entryId: string): Promise<void> {
    await this.client
      .multi()
      .xAck(this.keys.stream, this.keys.group, entryId)
      .xDel(this.keys.stream, entryId)
      .exec()
  }

  /** The `/stats` body, from counters kept up to date by every state change (no key scan). */
  async stats(now: Date): Promise<Stats> {
    const k = this.keys
    // Issued in one tick, node-redis sends these as one pipeline.
    const [queueDepth, dlqDepth, total, counts, finishedRecently] = await Promise.all([
      this.queueDepth(),
      this.client.xLen(k.dlq),
      this.client.get(k.totalJobs),
      this.client.hGetAll(k.statusCounts),
      this.client.zCount(k.finished, now.getTime() - RATE_WINDOW_MS, now.getTime()),
    ])
    const jobsByStatus: Stats['jobs_by_status'] = {}
    for (const [status, count] of Object.entries(counts)) {
      const n = Number(count)
      if (n > 0) jobsByStatus[status as JobStatus] = n
    }
    return {
      queue_depth: queueDepth,
      dlq_depth: Number(dlqDepth),
      total_jobs: Number(total ?? 0),
      jobs_by_status: jobsByStatus,
      processing_rate_per_minute:
        Math.round((Number(finishedRecently) / (RATE_WINDOW_MS / 60_000)) * 100) / 100,
    }
  }

  /** Queue depth alone (entries not yet handed to a transcoder), for the `processing_queue_size` gauge. */
  async queueDepth(): Promise<number> {
    const [length, pending] = await Promise.all([
      this.client.xLen(this.keys.stream),
      this.client.xPending(this.keys.stream, this.keys.group),
    ])
    // Settled entries are deleted, so the stream holds only waiting and in-flight entries.
    return Math.max(0, length - pending.pending)
  }

  async #eval(name: ScriptName, keys: string[], args: string[]): Promise<unknown> {
    const script = this.#scripts[name]
    script.sha ??= await this.client.scriptLoad(script.source)
    try {
      return await this.client.evalSha(script.sha, { keys, arguments: args })
    } catch (error) {
      // Redis restarted or SCRIPT FLUSH: the script cache is gone, send the source once.
      if (!String(error).includes('NOSCRIPT')) throw error
      return this.client.eval(script.source, { keys, arguments: args })
    }
  }
}

/** Connect to REDIS_URL and open the job store under REDIS_KEY_PREFIX (consumer group ensured). */
export async function openJobStore(
  config: { REDIS_URL: string; REDIS_KEY_PREFIX: string },
  logger: Logger,
): Promise<JobStore> {
  const client = await connectRedis(config.REDIS_URL, logger)
  const store = new JobStore(client, redisKeys(config.REDIS_KEY_PREFIX))
  try {
    await store.ensureGroup()
  } catch (error) {
    await closeRedis(client)
    throw error
  }
  return store
}

function toHash(job: Job): Record<string, string> {
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
  if (job.error !== undefined) hash.error = job.error
  return hash
}

function fromHash(hash: Record<string, string>): Job | null {
  if (!hash.job_id) return null
  return JobSchema.parse({
    ...hash,
    attempts: Number(hash.attempts ?? 0),
    outputs: hash.outputs ? JSON.parse(hash.outputs) : [],
  })
}
