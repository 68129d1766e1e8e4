import type { Job } from '../api/job.ts'
import type { JobStatus } from '../api/statuses.ts'
import { ConsumerGroup } from '../redis/consumer-group.ts'
import { COMMAND_TIMEOUT_MS, type RedisClient } from '../redis/redis.ts'
import type { RedisKeys } from '../redis/redis-keys.ts'
import { ChunkWork } from './chunk-work.ts'
import { DeadLetters } from './dead-letters.ts'
import { EventLog } from './events.ts'
import { JobCaptions } from './job-captions.ts'
import { type Claim, fromHash, type StartReply, type StartResult, startResult, toHash } from './job-hash.ts'
import { deleteKeys, eventKeys, finishCall, indexPrefix } from './job-outcomes.ts'
import type { CreateResult, Finished, JobListing, Result, Viewer } from './job-types.ts'
import { mayView } from './job-types.ts'
import { PipelineStats } from './pipeline-stats.ts'
import { RateCounts } from './rate-counts.ts'
import { RenderCounts } from './render-counts.ts'
import { Retention } from './retention.ts'
import { SharedSecrets } from './shared-secrets.ts'
import { StoreConnection } from './store-connection.ts'
import { TusRecords } from './tus-records.ts'
import { WatermarkRecords } from './watermark-records.ts'
import { WebhookDeliveries } from './webhook-deliveries.ts'

/** How long an Idempotency-Key names the job it created. */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600

export interface JobStoreOptions {
  /** Deadline of every command (REDIS_COMMAND_TIMEOUT_MS); 0: none. */
  commandTimeoutMs?: number
  /** Most entries the dead-letter stream keeps (DLQ_MAXLEN); 0: no limit. */
  dlqMaxLen?: number
  /**
   * How `get` (and so `list`) reads a job's hash; default HGETALL on `client`. Status's read
   * cache (STATUS_READ_CACHE_MS) reads through a client-side-caching connection of its own.
   */
  readHash?: (key: string) => Promise<Record<string, string>>
}

/**
 * Job state on Redis: job records, the jobs stream and its consumer group, leases. The consumer
 * group's own operations, dead letters, the `/stats` numbers and what retention expires are its
 * `group`, `deadLetters`, `stats` and `retention`.
 */
export class JobStore extends StoreConnection {
  // The parts, each on this store's connection (set by StoreConnection before these run).
  readonly deadLetters = new DeadLetters(this.redis, this.keys)
  readonly stats = new PipelineStats(this.redis, this.keys)
  readonly group = new ConsumerGroup(this.redis, this.keys)
  readonly retention = new Retention(this.redis, this.keys)
  readonly events = new EventLog(this.redis, this.keys)
  /** The work items of jobs encoded in chunks. */
  readonly chunks = new ChunkWork(this.redis, this.keys)
  readonly webhooks = new WebhookDeliveries(this.redis, this.keys)
  /** The tus uploads' bookkeeping. */
  readonly tus = new TusRecords(this.redis, this.keys)
  /** Per-client creation counts (the rate limit). */
  readonly rates = new RateCounts(this.redis, this.keys)
  /** Secrets the pipeline's processes share (status's original URLs, keys off). */
  readonly secrets = new SharedSecrets(this.redis, this.keys)
  /** Each job's distinct on-demand renders (the per-job cap). */
  readonly renders = new RenderCounts(this.redis, this.keys)
  /** The stored watermark images' records. */
  readonly watermarks = new WatermarkRecords(this.redis, this.keys)
  /** Completed jobs' caption tracks. */
  readonly captions = new JobCaptions(this.redis, this.keys)
  readonly #dlqMaxLen: number
  readonly #readHash: (key: string) => Promise<Record<string, string>>

  constructor(client: RedisClient, keys: RedisKeys, options: JobStoreOptions = {}) {
    super(client, keys, options.commandTimeoutMs ?? COMMAND_TIMEOUT_MS)
    this.#dlqMaxLen = options.dlqMaxLen ?? 0
    this.#readHash = options.readHash ?? ((key) => this.client.hGetAll(key))
  }

  /**
   * Store a new job and queue it, atomically: a job is never queued without its record. With an
   * idempotency key (already scoped to its client), a key seen in the last IDEMPOTENCY_TTL_SECONDS
   * creates nothing and returns the id of the job first created under it. `owner`: the id of
   * the API key creating it, when keys are on.
   */
  async create(job: Job, idempotencyKey?: string, owner?: string): Promise<CreateResult> {
    const k = this.keys
    const fields = Object.entries(toHash(job)).flat()
    // The API key's id (never the key): only it (and admin keys) may see the job.
    if (owner !== undefined) fields.push('api_client', owner)
    // No idempotency key: '' in its place (create-8.lua).
    const idempotency = idempotencyKey === undefined ? '' : k.idempotency(idempotencyKey)
    const keys = [k.job(job.job_id), k.statusCounts, k.totalJobs, k.stream, k.entries, idempotency]
    const [outcome, value] = (await this.redis.script(
      'create',
      [...keys, ...eventKeys(k)],
      [job.job_id, String(IDEMPOTENCY_TTL_SECONDS), indexPrefix(k), ...fields],
    )) as [string, string]
    return outcome === 'existing' && value !== job.job_id
      ? { created: false, jobId: value }
      : { created: true }
  }

  /** The job created under `idempotencyKey` in the last 24 hours, if any. */
  async idempotentJob(idempotencyKey: string): Promise<Job | null> {
    const id = await this.redis.call(this.client.get(this.keys.idempotency(idempotencyKey)))
    return id ? this.get(id) : null
  }

  /** Whether job `id` has a record. */
  async exists(id: string): Promise<boolean> {
    return (await this.redis.call(this.client.exists(this.keys.job(id)))) === 1
  }

  async get(id: string, viewer?: Viewer): Promise<Job | null> {
    const hash = await this.redis.call(this.#readHash(this.keys.job(id)))
    return viewer && !mayView(viewer, hash.api_client) ? null : fromHash(hash)
  }

  /** The id of job `id`'s first event (its own event stream replays from there), if known. */
  async firstEvent(id: string): Promise<string | null> {
    return this.redis.call(this.client.hGet(this.keys.job(id), 'first_event'))
  }

  /** The id of job `id`'s latest event (null: no such job, or none recorded). */
  async lastEvent(id: string): Promise<string | null> {
    return this.redis.call(this.client.hGet(this.keys.job(id), 'last_event'))
  }

  /** Whether job `id` exists and `viewer` may see it (one round trip, the record not read). */
  async visible(id: string, viewer?: Viewer): Promise<boolean> {
    if (!viewer || viewer.admin) return this.exists(id)
    const [jobId, owner] = await this.redis.call(
      this.client.hmGet(this.keys.job(id), ['job_id', 'api_client']),
    )
    return jobId !== null && mayView(viewer, owner ?? undefined)
  }

  /**
   * Job `id`'s status when its files may be served to `viewer` (none: a signed URL, or no keys):
   * it exists, is visible, and its outputs have not expired (their removal may lag the status).
   * Null when they may not. A `processing` job's files are served: the HLS stream of a job
   * transcoded in chunks, published as it grows.
   */
  async servesMedia(id: string, viewer?: Viewer): Promise<JobStatus | null> {
    const [status, owner] = await this.redis.call(
      this.client.hmGet(this.keys.job(id), ['status', 'api_client']),
    )
    const served = status !== null && status !== 'expired' && (!viewer || mayView(viewer, owner ?? undefined))
    return served ? (status as JobStatus) : null
  }

  /**
   * Jobs newest first, from the listing index of `status` (or all), `limit` at most, after
   * `cursor` (the creation sequence number the previous page ended at; exclusive); a `viewer`
   * that is not an admin reads its own key's index. Sequence numbers
   * are unique and only grow, so pages never repeat or skip a job, however many are created
   * meanwhile (those are newer than any cursor). `nextCursor` is null on the last page.
   */
  async list(options: {
    status?: JobStatus
    limit: number
    cursor?: number
    viewer?: Viewer
  }): Promise<JobListing> {
    const status = options.status ?? 'all'
    const viewer = options.viewer
    const key =
      viewer && !viewer.admin ? this.keys.ownerIndex(viewer.client, status) : this.keys.index(status)
    const max = options.cursor === undefined ? '+inf' : `(${options.cursor}`
    const entries = await this.redis.call(
      this.client.zRangeWithScores(key, max, '-inf', {
        BY: 'SCORE',
        REV: true,
        LIMIT: { offset: 0, count: options.limit + 1 },
      }),
    )
    const page = entries.slice(0, options.limit)
    // The records in one pipeline under one deadline (not a `get` each: a promise and a timer entry less a record).
    const hashes = await this.redis.call(Promise.all(page.map((e) => this.#readHash(this.keys.job(e.value)))))
    const records = hashes.map(fromHash)
    return {
      jobs: records.filter((job): job is Job => job !== null),
      nextCursor: entries.length > options.limit ? String(page.at(-1)?.score) : null,
    }
  }

  /**
   * Take job `jobId` (delivered as stream entry `entryId`) for `consumer`: `processing`, attempt
   * counted, a new lease. Not started when it is unknown, final, or a duplicate entry.
   */
  async start(jobId: string, entryId: string, consumer: string, now: Date): Promise<StartResult> {
    const reply = await this.redis.script(
      'start',
      [this.keys.job(jobId), this.keys.statusCounts, ...eventKeys(this.keys)],
      [now.toISOString(), consumer, entryId, indexPrefix(this.keys)],
    )
    return startResult(jobId, entryId, reply as StartReply)
  }

  /**
   * Publish a job's end: `completed` with outputs, or `failed` with an error (also added to the
   * dead-letter stream); then XACK and XDEL its entry; one atomic step, fenced by the lease.
   * Returns false when the claim was lost (nothing changed, nothing acknowledged). Safe to send
   * again after a lost reply: the script recognises its own write and answers true again.
   */
  async finish(claim: Claim, result: Result, now: Date): Promise<boolean> {
    return (await this.#finish(claim.jobId, claim.entryId, String(claim.lease), result, now, '')) === 1
  }

  /**
   * `finish`, and in the same step take the next stream entry for `consumer` and start its job
   * (BullMQ's moveToFinished does the same): one round trip a job instead of three while there is
   * a backlog. `next` is null when nothing was waiting (or nothing was recorded). Sent again
   * after a lost reply, it answers with the same next job (while it is still the consumer's).
   */
  async finishAndTakeNext(claim: Claim, result: Result, now: Date, consumer: string): Promise<Finished> {
    const reply = await this.#finish(claim.jobId, claim.entryId, String(claim.lease), result, now, consumer)
    if (!Array.isArray(reply)) return { recorded: reply === 1, next: null }
    const [, entryId, jobId, start] = reply as [number, string?, string?, StartReply?]
    if (!entryId || !start) return { recorded: true, next: null }
    return {
      recorded: true,
      next: { entryId, jobId: jobId ?? '', start: startResult(jobId ?? '', entryId, start) },
    }
  }

  /**
   * Cancel a job that has not finished: `canceled` at once, nobody starts it again, and a
   * transcoder running it is told on `keys.cancelChannel`. Returns the status it had (`null`: no
   * such job); `completed`/`failed`/`expired` jobs are left as they are.
   */
  async cancel(jobId: string, now: Date): Promise<JobStatus | null> {
    const k = this.keys
    const before = await this.redis.script(
      'cancel',
      [k.job(jobId), k.statusCounts, k.stream, k.delayed, k.entries, k.retention, ...eventKeys(k)],
      [k.group, now.toISOString(), k.cancelChannel, String(now.getTime()), indexPrefix(k)],
    )
    return before === '' ? null : (before as JobStatus)
  }

  /**
   * Whether this connection's writes so far reached `replicas` replicas within `timeoutMs`
   * (`WAIT`): what ingest asks before answering 202 when REDIS_MIN_REPLICAS is set. The store's
   * client must be one connection (a plain client, or a sentinel pool of one) for WAIT to count
   * the writes just made.
   */
  async replicated(replicas: number, timeoutMs: number): Promise<boolean> {
    if (replicas <= 0) return true
    // Short WAITs, each asking the replicas for their offset again: one long WAIT sometimes
    // misses an ack and sits out its whole timeout (seen with Redis 7.0), holding the connection.
    for (const deadline = Date.now() + timeoutMs; ; ) {
      if ((await this.redis.call(this.client.wait(replicas, WAIT_SLICE_MS))) >= replicas) return true
      if (Date.now() >= deadline) return false
    }
  }

  /**
   * Delete a job: canceled first if it had not finished, then its record and every key naming
   * it; its id joins `keys.deletedJobs` for a transcoder to remove its files. Returns the status
   * it had (`null`: no such job).
   */
  async delete(jobId: string): Promise<JobStatus | null> {
    const k = this.keys
    const before = await this.redis.script('delete', deleteKeys(k, jobId), [
      k.group,
      k.cancelChannel,
      indexPrefix(k),
    ])
    return before === '' ? null : (before as JobStatus)
  }

  /**
   * Retention (JOB_RETENTION_DAYS): delete a job as `delete` does, only if it is still finished
   * and finished at or before `finishedBefore` (checked in the same step). `kept`: it was not;
   * `missing`: no record (its leftover retention entries are removed).
   */
  async expireRecord(jobId: string, finishedBefore: Date): Promise<'deleted' | 'kept' | 'missing'> {
    const k = this.keys
    const before = await this.redis.script('delete', deleteKeys(k, jobId), [
      k.group,
      k.cancelChannel,
      indexPrefix(k),
      String(finishedBefore.getTime()),
    ])
    if (before === 'kept') return 'kept'
    if (before !== '') return 'deleted'
    await this.redis.call(
      Promise.all([this.client.zRem(k.retention, jobId), this.client.zRem(k.outputRetention, jobId)]),
    )
    return 'missing'
  }

  /** Up to `count` deleted jobs whose files are to be removed, taken off the set (SPOP). */
  async takeDeletedJobs(count: number): Promise<string[]> {
    return this.redis.call(this.client.sPopCount(this.keys.deletedJobs, count))
  }

  /** Put ids back whose files could not be removed this time. */
  async returnDeletedJobs(jobIds: string[]): Promise<void> {
    if (jobIds.length > 0) await this.redis.call(this.client.sAdd(this.keys.deletedJobs, jobIds))
  }

  /**
   * Dead-letter a job whose stream entry was deleted before it was settled (XAUTOCLAIM reports
   * such entries): it can never be delivered again, so it must not hang.
   */
  async failLostEntry(entryId: string, now: Date): Promise<string | null> {
    const jobId = await this.redis.call(this.client.hGet(this.keys.entries, entryId))
    if (!jobId) return null
    const error =
      'Its queue entry was deleted before it could be processed; retry it from the dead-letter queue'
    await this.#finish(jobId, entryId, '', { status: 'failed', error, code: 'entry_lost' }, now, '')
    await this.redis.call(this.client.hDel(this.keys.entries, entryId))
    return jobId
  }

  #finish(jobId: string, entryId: string, lease: string, result: Result, now: Date, takeNextFor: string) {
    const call = { jobId, entryId, lease, result, now, takeNextFor }
    const [keys, args] = finishCall(this.keys, call, this.#dlqMaxLen)
    return this.redis.script('finish', keys, args)
  }

  /**
   * After a transient failure: `retrying` until `due`, the entry settled so the wait holds no
   * worker slot. Returns false when the claim was lost. Safe to send again after a lost reply.
   */
  async retryLater(claim: Claim, error: string, code: string, due: Date, now: Date): Promise<boolean> {
    const k = this.keys
    const parked = await this.redis.script(
      'retry',
      [k.job(claim.jobId), k.statusCounts, k.stream, k.delayed, k.entries, ...eventKeys(k)],
      [
        k.group,
        claim.entryId,
        now.toISOString(),
        String(due.getTime()),
        due.toISOString(),
        error,
        String(claim.lease),
        code,
        indexPrefix(k),
      ],
    )
    return parked === 1
  }

  /**
   * Hand a job back to the queue without counting its attempt (the transcoder holding it stood
   * down as sick): `queued` again, its stream entry settled and a new one added in the same step,
   * `error`/`error_code` (and the `job.queued` event) saying why. Returns false when the claim
   * was lost. Safe to send again after a lost reply.
   */
  async returnToQueue(claim: Claim, reason: string, code: string, now: Date): Promise<boolean> {
    const k = this.keys
    const returned = await this.redis.script(
      'returnJob',
      [k.job(claim.jobId), k.statusCounts, k.stream, k.entries, ...eventKeys(k)],
      [k.group, claim.entryId, now.toISOString(), reason, code, String(claim.lease), indexPrefix(k)],
    )
    return returned === 1
  }

  /** Queue the retries that are due. Returns how many. */
  async promoteDue(now: Date, limit = 100): Promise<number> {
    const k = this.keys
    return Number(
      await this.redis.script(
        'promote',
        [k.delayed, k.stream, k.entries],
        [String(now.getTime()), String(limit), k.job('')],
      ),
    )
  }

  /** Show a running job's progress (0-100) and estimated seconds left; ignored once the claim is lost. */
  async reportProgress(claim: Claim, progress: number, etaSeconds: number | null): Promise<boolean> {
    const updated = await this.redis.script(
      'progress',
      [this.keys.job(claim.jobId), ...eventKeys(this.keys)],
      [String(claim.lease), String(progress), etaSeconds === null ? '' : String(etaSeconds)],
    )
    return updated === 1
  }

  /** Keep a claim's pending entry fresh. False: the claim was lost; stop working on it. */
  async heartbeat(claim: Claim, consumer: string): Promise<boolean> {
    const k = this.keys
    const fresh = await this.redis.script(
      'heartbeat',
      [k.job(claim.jobId), k.stream],
      [k.group, consumer, claim.entryId, String(claim.lease)],
    )
    return fresh === 1
  }
}

/** One WAIT of `replicated`, in ms. */
const WAIT_SLICE_MS = 50
