/**
 * Every Redis key the pipeline uses, in one place (after BullMQ's queue-keys.ts). All keys share a
 * prefix so pipelines and test runs can share one Redis without seeing each other.
 */
export interface RedisKeys {
  /** Stream of job messages `{ job_id }`, read by the transcoders' consumer group. */
  readonly stream: string
  /** Consumer group name on `stream`. */
  readonly group: string
  /** Stream of dead-lettered jobs `{ job_id, filename, error, attempts, failed_at }`. */
  readonly dlq: string
  /** Sorted set: job_id of `retrying` jobs scored by when (ms) they are due again. */
  readonly delayed: string
  /** Hash: stream entry id -> job_id, for entries not yet settled (to name the job of a deleted entry). */
  readonly entries: string
  /** Hash: status -> number of jobs currently in that status. */
  readonly statusCounts: string
  /** Counter of every job ever created. */
  readonly totalJobs: string
  /** Sorted set: job_id scored by the time (ms) it finished, for the processing rate. */
  readonly finished: string
  /**
   * Sorted set: finished jobs (completed, failed, canceled; expired ones keep their completion
   * time) scored by when they finished (ms): their records go after JOB_RETENTION_DAYS.
   */
  readonly retention: string
  /** Sorted set: completed jobs scored by when they completed (ms): their outputs go after OUTPUT_RETENTION_DAYS. */
  readonly outputRetention: string
  /** Set: ids of expired jobs whose outputs a transcoder is still to remove. */
  readonly expiredOutputs: string
  /**
   * Sorted set: the files a completed job keeps for a while only (the segments its stream was
   * published in while it was encoded), by when they go; members are JSON `{ job, folders }`.
   */
  readonly leftovers: string
  /** String: a lock (`retention`: one transcoder sweeps at a time), holding its holder's token, with a lease. */
  lock(name: string): string
  /** Set: job ids whose kept uploads a transcoder is to remove (their dead letters were discarded). */
  readonly discardedUploads: string
  /**
   * Sorted set: job ids scored by creation sequence number, for listings (`all`, or one status).
   * The Lua scripts that move a job's status name these from `index('')`, passed to them as
   * ARGV (index_prefix; move_status), and create's sequence counter is `index('seq')`.
   */
  index(status: string): string
  /** The same index, of the jobs one API key (by its id) owns (the Lua's owner_index builds it from `index('')`). */
  ownerIndex(client: string, status: string): string
  /** Set: ids of deleted jobs whose files (outputs and upload) a transcoder is to remove. */
  readonly deletedJobs: string
  /** Pub/sub channel: ids of running jobs just canceled (every transcoder listens). */
  readonly cancelChannel: string
  /** String: the lock of one tus upload (by its id), holding its holder's token, with a lease. */
  tusLock(id: string): string
  /**
   * Pub/sub channel: requests that whoever holds a tus upload's lock let it go (`{ id, by }` JSON;
   * every ingest listens).
   */
  readonly tusReleaseChannel: string
  /**
   * Stream: the job event log, one entry per state change, appended to by the Lua scripts in the
   * step that makes the change (passed to them as KEYS, with `config`).
   */
  readonly events: string
  /** Hash: settings the Lua scripts read (`events_maxlen`). */
  readonly config: string
  /** Consumer group on `events` that turns events into webhook deliveries. */
  readonly webhookGroup: string
  /** Sorted set: webhook delivery keys scored by when (ms) each is next sent. */
  readonly webhooksDue: string
  /**
   * Hash: one webhook delivery (target, body, webhook-id, attempt), by its id. enqueue-deliveries
   * names the new ones from `webhook('')`, passed as ARGV (delivery_prefix).
   */
  webhook(id: string): string
  /** List: a job's delivery attempts, JSON each (`GET /jobs/{id}/deliveries`). */
  deliveries(jobId: string): string
  /**
   * Hash: a resumable (tus) upload not finished yet: its owner, file name and job options, until
   * it becomes job `id` (expires with the upload).
   */
  tusUpload(id: string): string
  /**
   * Streams of chunk work items `{ job_id, item }` (a chunk `c00003`, or `audio`), read by the
   * transcoders' group after `stream`: `chunksFirst` holds each job's first items (its audio and
   * first chunk: a new job gets a turn early), `chunks` the rest, taken in order.
   */
  readonly chunksFirst: string
  readonly chunks: string
  /** Sorted set: `{job_id} {item}` of chunk items waiting out a retry's backoff, scored by when (ms) due. */
  readonly chunksDelayed: string
  /**
   * Hash: one job's chunked encode: its plan, and each item's state, attempts, lease, entry and
   * result (`{item}:{field}`). promote-chunks names it from `chunkJob('')`, passed as ARGV
   * (chunk_prefix), with the job id of each due item.
   */
  chunkJob(id: string): string
  /**
   * Hash holding one job record. finish (the next job it takes), promote and promote-chunks name
   * it from `job('')`, passed as ARGV (job_prefix), with a job id read in the script.
   */
  job(id: string): string
  /** String: the job_id created under an Idempotency-Key (`scope` = client + key), kept 24 h. */
  idempotency(scope: string): string
  /** Counter of one client's job creations in one rate-limit window. */
  rate(client: string, window: number): string
  /** Set: the file names of one job's on-demand renders (RENDER_MAX_PER_JOB), kept a while after the last. */
  renders(jobId: string): string
  /** Hash: a stored watermark image (`wm_...`): its owner, size and dimensions. */
  watermark(id: string): string
  /** String: the id of one owner's (an API key's id, or `''`) default watermark. */
  watermarkDefault(owner: string): string
  /** Set: the ids of one owner's stored watermark images (WATERMARK_MAX_PER_KEY). */
  watermarks(owner: string): string
}

export function redisKeys(prefix = 'vpp'): RedisKeys {
  return {
    stream: `${prefix}:jobs`,
    group: 'transcoders',
    dlq: `${prefix}:dlq`,
    delayed: `${prefix}:delayed`,
    entries: `${prefix}:entries`,
    statusCounts: `${prefix}:stats:status`,
    totalJobs: `${prefix}:stats:total`,
    finished: `${prefix}:stats:finished`,
    discardedUploads: `${prefix}:discarded-uploads`,
    retention: `${prefix}:retention`,
    outputRetention: `${prefix}:retention:outputs`,
    expiredOutputs: `${prefix}:expired-outputs`,
    leftovers: `${prefix}:leftovers`,
    lock: (name) => `${prefix}:lock:${name}`,
    index: (status) => `${prefix}:index:${status}`,
    ownerIndex: (client, status) => `${prefix}:index:key:${client}:${status}`,
    cancelChannel: `${prefix}:cancel`,
    tusLock: (id) => `${prefix}:tus-lock:${id}`,
    tusReleaseChannel: `${prefix}:tus-release`,
    deletedJobs: `${prefix}:deleted-jobs`,
    events: `${prefix}:events`,
    config: `${prefix}:config`,
    webhookGroup: 'webhooks',
    webhooksDue: `${prefix}:webhooks:due`,
    webhook: (id) => `${prefix}:webhook:${id}`,
    deliveries: (jobId) => `${prefix}:deliveries:${jobId}`,
    tusUpload: (id) => `${prefix}:tus:${id}`,
    chunksFirst: `${prefix}:chunks:first`,
    chunks: `${prefix}:chunks`,
    chunksDelayed: `${prefix}:chunks:delayed`,
    chunkJob: (id) => `${prefix}:chunkjob:${id}`,
    job: (id) => `${prefix}:job:${id}`,
    idempotency: (scope) => `${prefix}:idem:${scope}`,
    rate: (client, window) => `${prefix}:rate:${client}:${window}`,
    renders: (jobId) => `${prefix}:renders:${jobId}`,
    watermark: (id) => `${prefix}:watermark:${id}`,
    watermarkDefault: (owner) => `${prefix}:watermark:default:${owner}`,
    watermarks: (owner) => `${prefix}:watermarks:${owner}`,
  }
}
