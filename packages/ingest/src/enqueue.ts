import {
  AppError,
  isLuaError,
  isRedisUnavailable,
  type Job,
  type JobOptions,
  type JobSource,
  type JobStore,
  LUA_ERRORS,
  type UploadResponse,
} from '@vpp/shared'
import type { Context } from 'hono'
import type { IngestDeps } from './deps.ts'

/** A new job's fields, as a create route knows them. */
export interface NewJob {
  id: string
  filename: string
  source: JobSource
  url?: string
  /** The Idempotency-Key, scoped to its client. */
  idempotency?: string
  options: JobOptions
  /** The id of the API key creating it (keys on): the job is that key's. */
  owner?: string
}

/** Store and queue a job; the first job of its idempotency key instead, when there is one. */
export type Enqueue = (fields: NewJob) => Promise<{ job: Job; created: boolean }>

/** How long a new job's record may take to reach REDIS_MIN_REPLICAS replicas (a healthy one: a round trip). */
const REPLICA_WAIT_MS = 1000

/** The 202 body of both create routes. */
export const accepted = (job: Job): UploadResponse => ({
  job_id: job.job_id,
  filename: job.filename,
  status: 'queued',
  message: 'Video uploaded and queued for processing',
  created_at: job.created_at,
})

/** The first job of a repeated Idempotency-Key, answered again. */
export const replay = (c: Context, job: Job) => {
  c.header('Idempotent-Replayed', 'true')
  return c.json(accepted(job), 202)
}

/**
 * Jobs as the create routes make them: recorded (retried while Redis is briefly unreachable),
 * held to REDIS_MIN_REPLICAS, counted and logged.
 */
export function jobEnqueuer(deps: IngestDeps, now: () => Date): Enqueue {
  return async (fields) => {
    const at = now().toISOString()
    const job: Job = {
      job_id: fields.id,
      filename: fields.filename,
      source: fields.source,
      source_url: fields.url,
      ...fields.options,
      status: 'queued',
      created_at: at,
      updated_at: at,
      attempts: 0,
      outputs: [],
    }
    const result = await createOnce(deps.store, job, fields.idempotency, fields.owner)
    if (!result.created) {
      const first = await deps.store.get(result.jobId)
      if (first) return { job: first, created: false }
    }
    if (result.created && !(await deps.store.replicated(deps.minReplicas ?? 0, REPLICA_WAIT_MS))) {
      // Not on enough replicas: a failover now could lose it, so it is not accepted at all.
      await deps.store.delete(job.job_id).catch(() => {})
      deps.logger.warn('job not replicated in time; refused', {
        job_id: job.job_id,
        replicas: deps.minReplicas,
      })
      throw new AppError(
        'unavailable',
        `The job could not be confirmed on ${deps.minReplicas} Redis replica(s); nothing was kept: send it again`,
        503,
      )
    }
    deps.metrics.uploads.inc({ status: 'accepted' })
    deps.logger.info('job queued', { job_id: job.job_id, source: job.source, filename: job.filename })
    return { job, created: true }
  }
}

/**
 * Record a job, retrying briefly while Redis is unreachable. A reply lost after Redis ran the
 * script (connection reset) would otherwise turn a recorded job into a 503 whose file is then
 * deleted; the retry finds the job there ("exists") and treats it as done.
 */
async function createOnce(store: JobStore, job: Job, idempotency: string | undefined, owner?: string) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await store.create(job, idempotency, owner)
    } catch (error) {
      if (attempt > 1 && isLuaError(error, LUA_ERRORS.jobExists)) return { created: true as const }
      if (!isRedisUnavailable(error) || attempt >= 3) throw error
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt))
    }
  }
}
