import type { Logger } from '../logger.ts'
import { closeRedis, connectRedis, type RedisClient } from '../redis/redis.ts'
import { type RedisKeys, redisKeys } from '../redis/redis-keys.ts'
import {
  type DlqEntry,
  type DlqList,
  type Job,
  JobSchema,
  type JobStatus,
  type Output,
  type Skipped,
  type Stats,
} from './job.ts'
import { CREATE_JOB_LUA } from './scripts/create-job.ts'
import { FINISH_JOB_LUA } from './scripts/finish-job.ts'
import { HEARTBEAT_LUA } from './scripts/heartbeat.ts'
import { PROGRESS_LUA } from './scripts/progress.ts'
import { PROMOTE_DUE_LUA } from './scripts/promote-due.ts'
import { RETRY_DEAD_LETTER_LUA } from './scripts/retry-dead-letter.ts'
import { RETRY_JOB_LUA } from './scripts/retry-job.ts'
import { START_JOB_LUA } from './scripts/start-job.ts'

/** `processing_rate_per_minute` counts jobs finished over this window. */
export const RATE_WINDOW_MS = 5 * 60_000
/** How long the finished-jobs set keeps an entry (only the rate window is read). */
const FINISHED_RETENTION_MS = 60 * 60_000

const SCRIPTS = {
  create: CREATE_JOB_LUA,
  start: START_JOB_LUA,
  finish: FINISH_JOB_LUA,
  retry: RETRY_JOB_LUA,
  promote: PROMOTE_DUE_LUA,
  heartbeat: HEARTBEAT_LUA,
  progress: PROGRESS_LUA,
  retryDeadLetter: RETRY_DEAD_LETTER_LUA,
}
type ScriptName = keyof typeof SCRIPTS
type Result =
  | { status: 'completed'; outputs: Output[]; skipped?: Skipped[] }
  | { status: 'failed'; error: string; code: string }

/** start_job's reply: status before, lease, attempts, the job hash as a flat field/value list. */
type StartReply = [string, number, number, string[]]

function startResult(jobId: string, entryId: string, reply: StartReply): StartResult {
  const [before, lease, attempts, fields] = reply
  if (lease === 0) return { started: false, status: before === '' ? null : (before as JobStatus) }
  // The record as it is now (processing), read in the same step: no second round trip.
  const hash: Record<string, string> = {}
  for (let i = 0; i + 1 < fields.length; i += 2) hash[fields[i] as string] = fields[i + 1] as string
  const job = fromHash(hash)
  if (!job) throw new Error(`job ${jobId} has no record`)
  return { started: true, claim: { jobId, entryId, lease }, attempts, before: before as JobStatus, job }
}

/** How long an Idempotency-Key names the job it created. */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600

export type CreateResult = { created: true } | { created: false; jobId: string }

/** What a consumer holds while it processes a job: the entry and the lease (fencing token). */
export interface Claim {
  jobId: string
  entryId: string
  lease: number
}

export type StartResult =
  | { started: true; claim: Claim; attempts: number; before: JobStatus; job: Job }
  | { started: false; status: JobStatus | null }

/** Job records, status counters, the jobs stream and the dead-letter queue, for every service. */
export class JobStore {
  readonly #shas = new Map<ScriptName, string>()

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

  /**
   * Store a new job and queue it, atomically: a job is never queued without its record. With an
   * idempotency key (already scoped to its client), a key seen in the last IDEMPOTENCY_TTL_SECONDS
   * creates nothing and returns the id of the job first created under it.
   */
  async create(job: Job, idempotencyKey?: string): Promise<CreateResult> {
    const k = this.keys
    const fields = Object.entries(toHash(job)).flat()
    const keys = [k.job(job.job_id), k.statusCounts, k.totalJobs, k.stream, k.entries]
    if (idempotencyKey !== undefined) keys.push(k.idempotency(idempotencyKey))
    const [outcome, value] = (await this.#eval('create', keys, [
      job.job_id,
      String(IDEMPOTENCY_TTL_SECONDS),
      ...fields,
    ])) as [string, string]
    return outcome === 'existing' && value !== job.job_id
      ? { created: false, jobId: value }
      : { created: true }
  }

  /** The job created under `idempotencyKey` in the last 24 hours, if any. */
  async idempotentJob(idempotencyKey: string): Promise<Job | null> {
    const id = await this.client.get(this.keys.idempotency(idempotencyKey))
    return id ? this.get(id) : null
  }

  async get(id: string): Promise<Job | null> {
    return fromHash(await this.client.hGetAll(this.keys.job(id)))
  }

  /**
   * Take job `jobId` (delivered as stream entry `entryId`) for `consumer`: `processing`, attempt
   * counted, a new lease. Not started when it is unknown, final, or a duplicate entry.
   */
  async start(jobId: string, entryId: string, consumer: string, now: Date): Promise<StartResult> {
    const reply = await this.#eval(
      'start',
      [this.keys.job(jobId), this.keys.statusCounts],
      [now.toISOString(), consumer, entryId],
    )
    return startResult(jobId, entryId, reply as StartReply)
  }

  /**
   * Publish a job's end: `completed` with outputs, or `failed` with an error (also added to the
   * dead-letter stream); then XACK and XDEL its entry; one atomic step, fenced by the lease.
   * Returns false when the claim was lost (nothing changed, nothing acknowledged).
   */
  async finish(claim: Claim, result: Result, now: Date): Promise<boolean> {
    return this.#finish(claim.jobId, claim.entryId, String(claim.lease), result, now)
  }

  /**
   * `finish`, and in the same step take the next stream entry for `consumer` and start its job
   * (BullMQ's moveToFinished does the same): one round trip a job instead of three while there is
   * a backlog. `next` is null when nothing was waiting (or nothing was recorded).
   */
  async finishAndTakeNext(
    claim: Claim,
    result: Result,
    now: Date,
    consumer: string,
  ): Promise<{ recorded: boolean; next: { entryId: string; jobId: string; start: StartResult } | null }> {
    const reply = await this.#finishReply(
      claim.jobId,
      claim.entryId,
      String(claim.lease),
      result,
      now,
      consumer,
    )
    if (!Array.isArray(reply)) return { recorded: reply === 1, next: null }
    const [, entryId, jobId, start] = reply as [number, string?, string?, StartReply?]
    if (!entryId || !start) return { recorded: true, next: null }
    return {
      recorded: true,
      next: { entryId, jobId: jobId ?? '', start: startResult(jobId ?? '', entryId, start) },
    }
  }

  /**
   * Dead-letter a job whose stream entry was deleted before it was settled (XAUTOCLAIM reports
   * such entries): it can never be delivered again, so it must not hang.
   */
  async failLostEntry(entryId: string, now: Date): Promise<string | null> {
    const jobId = await this.client.hGet(this.keys.entries, entryId)
    if (!jobId) return null
    const error =
      'Its queue entry was deleted before it could be processed; retry it from the dead-letter queue'
    await this.#finish(jobId, entryId, '', { status: 'failed', error, code: 'entry_lost' }, now)
    await this.client.hDel(this.keys.entries, entryId)
    return jobId
  }

  async #finish(jobId: string, entryId: string, lease: string, result: Result, now: Date): Promise<boolean> {
    return (await this.#finishReply(jobId, entryId, lease, result, now, '')) === 1
  }

  async #finishReply(
    jobId: string,
    entryId: string,
    lease: string,
    result: Result,
    now: Date,
    takeNextFor: string,
  ): Promise<unknown> {
    const k = this.keys
    return this.#eval(
      'finish',
      [k.job(jobId), k.statusCounts, k.stream, k.finished, k.dlq, k.entries],
      [
        k.group,
        entryId,
        result.status,
        now.toISOString(),
        String(now.getTime()),
        JSON.stringify(result.status === 'completed' ? result.outputs : []),
        result.status === 'failed' ? result.error : '',
        String(FINISHED_RETENTION_MS),
        lease,
        result.status === 'completed' ? JSON.stringify(result.skipped ?? []) : '',
        result.status === 'failed' ? result.code : '',
        takeNextFor,
        k.job(''),
      ],
    )
  }

  /**
   * After a transient failure: `retrying` until `due`, the entry settled so the wait holds no
   * worker slot. Returns false when the claim was lost.
   */
  async retryLater(claim: Claim, error: string, code: string, due: Date, now: Date): Promise<boolean> {
    const k = this.keys
    const parked = await this.#eval(
      'retry',
      [k.job(claim.jobId), k.statusCounts, k.stream, k.delayed, k.entries],
      [
        k.group,
        claim.entryId,
        now.toISOString(),
        String(due.getTime()),
        due.toISOString(),
        error,
        String(claim.lease),
        code,
      ],
    )
    return parked === 1
  }

  /** Queue the retries that are due. Returns how many. */
  async promoteDue(now: Date, limit = 100): Promise<number> {
    const k = this.keys
    return Number(
      await this.#eval('promote', [k.delayed, k.stream, k.entries], [String(now.getTime()), String(limit)]),
    )
  }

  /** Show a running job's progress (0-100) and estimated seconds left; ignored once the claim is lost. */
  async reportProgress(claim: Claim, progress: number, etaSeconds: number | null): Promise<boolean> {
    const updated = await this.#eval(
      'progress',
      [this.keys.job(claim.jobId)],
      [String(claim.lease), String(progress), etaSeconds === null ? '' : String(etaSeconds)],
    )
    return updated === 1
  }

  /** Keep a claim's pending entry fresh. False: the claim was lost; stop working on it. */
  async heartbeat(claim: Claim, consumer: string): Promise<boolean> {
    const k = this.keys
    const fresh = await this.#eval(
      'heartbeat',
      [k.job(claim.jobId), k.stream],
      [k.group, consumer, claim.entryId, String(claim.lease)],
    )
    return fresh === 1
  }

  /** Settle a stream entry that names no job we can run (acknowledged and deleted). */
  async settle(entryId: string): Promise<void> {
    await this.client
      .multi()
      .xAck(this.keys.stream, this.keys.group, entryId)
      .xDel(this.keys.stream, entryId)
      .hDel(this.keys.entries, entryId)
      .exec()
  }

  /** Dead-letter entries, oldest first, after `after` (exclusive) when given. */
  async listDeadLetters(limit: number, after?: string): Promise<DlqList> {
    const start = after ? `(${after}` : '-'
    const [total, entries] = await Promise.all([
      this.client.xLen(this.keys.dlq),
      this.client.xRange(this.keys.dlq, start, '+', { COUNT: limit }),
    ])
    return { total, entries: entries.map((e) => toDlqEntry(e.id, e.message as Record<string, string>)) }
  }

  async getDeadLetter(messageId: string): Promise<DlqEntry | null> {
    const [entry] = await this.client.xRange(this.keys.dlq, messageId, messageId)
    return entry ? toDlqEntry(entry.id, entry.message as Record<string, string>) : null
  }

  /**
   * Replay a dead-lettered job: `queued` with attempts reset, the DLQ entry removed, atomically.
   * Returns the job id, or null when there is no such entry (or its job is no longer failed).
   */
  async retryDeadLetter(messageId: string, now: Date): Promise<string | null> {
    const entry = await this.getDeadLetter(messageId)
    if (!entry) return null
    const k = this.keys
    const queued = await this.#eval(
      'retryDeadLetter',
      [k.dlq, k.job(entry.job_id), k.statusCounts, k.stream, k.entries],
      [messageId, entry.job_id, now.toISOString()],
    )
    return queued === 1 ? entry.job_id : null
  }

  /** Discard a dead-letter entry (the job stays `failed`). False when there is no such entry. */
  async deleteDeadLetter(messageId: string): Promise<boolean> {
    return (await this.client.xDel(this.keys.dlq, messageId)) === 1
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
      dlq_depth: dlqDepth,
      total_jobs: Number(total ?? 0),
      jobs_by_status: jobsByStatus,
      processing_rate_per_minute: Math.round((finishedRecently / (RATE_WINDOW_MS / 60_000)) * 100) / 100,
    }
  }

  /** Jobs waiting for a transcoder: stream entries not yet handed out. */
  async queueDepth(): Promise<number> {
    const [length, pending] = await Promise.all([
      this.client.xLen(this.keys.stream),
      this.client.xPending(this.keys.stream, this.keys.group),
    ])
    // Settled entries are deleted, so the stream holds only waiting and in-flight entries.
    return Math.max(0, length - pending.pending)
  }

  async #eval(name: ScriptName, keys: string[], args: string[]): Promise<unknown> {
    let sha = this.#shas.get(name)
    if (!sha) {
      sha = await this.client.scriptLoad(SCRIPTS[name])
      this.#shas.set(name, sha)
    }
    try {
      return await this.client.evalSha(sha, { keys, arguments: args })
    } catch (error) {
      // Redis restarted or SCRIPT FLUSH: the script cache is gone, send the source once.
      if (!String(error).includes('NOSCRIPT')) throw error
      return this.client.eval(SCRIPTS[name], { keys, arguments: args })
    }
  }
}

/** Connect to REDIS_URL and open the job store under REDIS_KEY_PREFIX (consumer group ensured). */
export async function openJobStore(
  config: { REDIS_URL: string; REDIS_KEY_PREFIX: string },
  logger: Logger,
  options: { commandTimeoutMs?: number } = {},
): Promise<JobStore> {
  const client = await connectRedis(config.REDIS_URL, logger, options)
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

/** The public record: internal fields (lease, owner, entry_id) stay in Redis. */
function fromHash(hash: Record<string, string>): Job | null {
  if (!hash.job_id) return null
  return JobSchema.parse({
    job_id: hash.job_id,
    filename: hash.filename,
    source: hash.source,
    source_url: hash.source_url,
    status: hash.status,
    created_at: hash.created_at,
    updated_at: hash.updated_at,
    attempts: Number(hash.attempts ?? 0),
    error: hash.error,
    error_code: hash.error_code,
    next_attempt_at: hash.next_attempt_at,
    progress: hash.progress === undefined ? undefined : Number(hash.progress),
    eta_seconds: hash.eta_seconds === undefined ? undefined : Number(hash.eta_seconds),
    outputs: hash.outputs ? JSON.parse(hash.outputs) : [],
    skipped: hash.skipped ? JSON.parse(hash.skipped) : undefined,
  })
}

function toDlqEntry(id: string, fields: Record<string, string>): DlqEntry {
  return {
    message_id: id,
    job_id: fields.job_id ?? '',
    filename: fields.filename ?? '',
    error: fields.error ?? '',
    attempts: Number(fields.attempts ?? 0),
    failed_at: fields.failed_at ?? new Date(Number(id.split('-')[0])).toISOString(),
  }
}
