import {
  type AccessEnv,
  AppError,
  apiKeyAuth,
  createHttpMetrics,
  isOutputName,
  JOB_ID_PATTERN,
  JOB_STATUSES,
  type Job,
  type JobStatus,
  type JobStore,
  jsonErrorHandler,
  jsonNotFound,
  type Logger,
  metricsResponse,
  NO_BODY_LIMIT,
  observeRequests,
  redisHealth,
  requestLimits,
} from '@vpp/shared'
import { Hono, type MiddlewareHandler } from 'hono'
import { cors } from 'hono/cors'
import type { Registry } from 'prom-client'

export interface StatusDeps {
  store: JobStore
  logger: Logger
  registry: Registry
  /** API keys; empty: no key needed. */
  apiKeys?: readonly string[]
  /** Time limit of every request (REQUEST_TIMEOUT_MS). */
  requestTimeoutMs?: number
  /**
   * Serves a job's published file (the runtime's file server over OUTPUT_DIR; the route checks
   * the names first): `/media/{job_id}/{file}`. Unset: no media route (S3 URLs come from storage).
   */
  media?: (file: (c: Parameters<MiddlewareHandler>[0]) => string) => MiddlewareHandler
  /** Base of the media URLs (PUBLIC_URL). */
  publicUrl?: string
  /** Origins allowed to fetch media (CORS_ORIGINS); default any. */
  corsOrigins?: readonly string[]
  now?: () => Date
}

/** Stream entry ids: `<ms>-<seq>`. */
const MESSAGE_ID = /^\d{1,20}-\d{1,20}$/

const deadLetterNotFound = (id: string) => new AppError('not_found', `No dead-letter entry ${id}`, 404)
const mediaNotFound = (path: string) => new AppError('not_found', `No media at ${path}`, 404)
/** Headers a player on another origin needs to read. */
const MEDIA_HEADERS = ['Content-Length', 'Content-Range', 'Accept-Ranges', 'ETag']

/**
 * The job as a client sees it: each local output's `url` under `/media/{job_id}/` (S3 outputs
 * keep the URL storage gave them), and `playback`: the HLS master, the best H.264 MP4, the
 * thumbnail and the storyboard, null for what was not made.
 */
export function withMedia(job: Job, publicUrl: string | undefined): Job {
  const base = publicUrl?.replace(/\/+$/, '')
  const outputs = job.outputs.map((output) => {
    if (output.url || !base) return output
    const at = output.path.lastIndexOf(`/${job.job_id}/`)
    if (at < 0) return output
    return { ...output, url: `${base}/media/${job.job_id}/${output.path.slice(at + job.job_id.length + 2)}` }
  })
  const url = (profile: string) => outputs.find((o) => o.profile === profile)?.url ?? null
  const mp4 = outputs
    .filter((o) => o.codec === 'h264' && o.url?.endsWith('.mp4'))
    .sort((a, b) => b.height * b.width - a.height * a.width)[0]
  if (job.status !== 'completed') return { ...job, outputs }
  return {
    ...job,
    outputs,
    playback: {
      hls: url('hls'),
      mp4: mp4?.url ?? null,
      thumbnail: url('thumbnail'),
      storyboard: url('storyboard'),
    },
  }
}

/** The status API: job records, pipeline stats, the dead-letter queue. Builds the app only. */
export function createApp(deps: StatusDeps) {
  const now = deps.now ?? (() => new Date())
  const app = new Hono<AccessEnv>()
  app.onError(jsonErrorHandler(deps.logger))
  app.notFound(jsonNotFound)
  app.use(observeRequests(deps.logger, createHttpMetrics(deps.registry)))
  // No route takes a body (the DLQ's POST and DELETE included): a tiny limit, and a short time.
  app.use(requestLimits({ maxBytes: NO_BODY_LIMIT, timeoutMs: deps.requestTimeoutMs ?? 10_000 }))

  if (deps.apiKeys?.length) app.use(apiKeyAuth(deps.apiKeys))

  /** `?status=` (one of the statuses), `?limit=` (1-100, default 20), `?cursor=` from the last page. */
  app.get('/jobs', async (c) => {
    const status = c.req.query('status')
    const limit = Number(c.req.query('limit') ?? 20)
    const cursor = c.req.query('cursor')
    if (status !== undefined && !JOB_STATUSES.includes(status as JobStatus)) {
      throw new AppError('bad_request', `status must be one of ${JOB_STATUSES.join(', ')}`, 400)
    }
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      throw new AppError('bad_request', 'limit must be a whole number from 1 to 100', 400)
    }
    if (cursor !== undefined && !/^\d{1,15}$/.test(cursor)) {
      throw new AppError('bad_request', 'cursor must be the next_cursor of a previous page', 400)
    }
    const page = await deps.store.list({
      status: status as JobStatus | undefined,
      limit,
      cursor: cursor === undefined ? undefined : Number(cursor),
    })
    const publicUrl = deps.media ? deps.publicUrl : undefined
    return c.json({ jobs: page.jobs.map((job) => withMedia(job, publicUrl)), next_cursor: page.nextCursor })
  })

  app.get('/jobs/:job_id', async (c) => {
    const id = c.req.param('job_id')
    // Anything that cannot name a job is not looked up.
    const job = JOB_ID_PATTERN.test(id) ? await deps.store.get(id) : null
    if (!job) throw new AppError('not_found', `Job ${id} not found`, 404)
    return c.json(withMedia(job, deps.media ? deps.publicUrl : undefined))
  })

  if (deps.media) {
    const origins = deps.corsOrigins?.length ? [...deps.corsOrigins] : ['*']
    app.use('/media/*', cors({ origin: origins.includes('*') ? '*' : origins, exposeHeaders: MEDIA_HEADERS }))
    const serve = deps.media((c) => `${c.req.param('job_id')}/${c.req.param('file')}`)
    app.on(['GET', 'HEAD'], '/media/:job_id/:file{.+}', async (c, next) => {
      const id = c.req.param('job_id')
      const file = c.req.param('file')
      // Names are checked after decoding (Hono decodes params): %2e%2e and %2F are caught here.
      if (!JOB_ID_PATTERN.test(id) || !isOutputName(file)) throw mediaNotFound(c.req.path)
      // A deleted job's files may linger until a transcoder removes them: they are gone already.
      if (!(await deps.store.exists(id))) throw mediaNotFound(c.req.path)
      const response = await serve(c, next)
      if (!response) throw mediaNotFound(c.req.path)
      return response
    })
  }

  app.delete('/jobs/:job_id', async (c) => {
    const id = c.req.param('job_id')
    const before = JOB_ID_PATTERN.test(id) ? await deps.store.delete(id) : null
    if (before === null) throw new AppError('not_found', `Job ${id} not found`, 404)
    deps.logger.info('job deleted', { job_id: id, status_before: before })
    return c.body(null, 204)
  })

  app.post('/jobs/:job_id/cancel', async (c) => {
    const id = c.req.param('job_id')
    const before = JOB_ID_PATTERN.test(id) ? await deps.store.cancel(id, now()) : null
    if (before === null) throw new AppError('not_found', `Job ${id} not found`, 404)
    if (before === 'completed' || before === 'failed' || before === 'expired') {
      throw new AppError('job_finished', `Job ${id} is already ${before}; it cannot be canceled`, 409)
    }
    if (before !== 'canceled') deps.logger.info('job canceled', { job_id: id, status_before: before })
    return c.json({ job_id: id, status: 'canceled' }, 202)
  })

  app.get('/stats', async (c) => c.json(await deps.store.stats.read(now())))

  /** `?limit=` (1-1000, default 100) entries, oldest first; `?after=<message_id>` for the next page. */
  app.get('/dlq', async (c) => {
    const limit = Number(c.req.query('limit') ?? 100)
    const after = c.req.query('after')
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new AppError('bad_request', 'limit must be a whole number from 1 to 1000', 400)
    }
    if (after !== undefined && !MESSAGE_ID.test(after)) {
      throw new AppError('bad_request', 'after must be a message_id such as 1700000000000-0', 400)
    }
    return c.json(await deps.store.deadLetters.list(limit, after))
  })

  app.post('/dlq/:message_id/retry', async (c) => {
    const id = c.req.param('message_id')
    const jobId = MESSAGE_ID.test(id) ? await deps.store.deadLetters.retry(id, now()) : null
    if (!jobId) throw deadLetterNotFound(id)
    deps.logger.info('dead-lettered job queued again', { job_id: jobId, message_id: id })
    return c.json({ job_id: jobId, status: 'queued', message: 'Job queued for another attempt' }, 202)
  })

  app.delete('/dlq/:message_id', async (c) => {
    const id = c.req.param('message_id')
    if (!MESSAGE_ID.test(id) || !(await deps.store.deadLetters.delete(id))) throw deadLetterNotFound(id)
    deps.logger.info('dead-letter entry discarded', { message_id: id })
    return c.body(null, 204)
  })

  app.get('/healthz', (c) => redisHealth(c, deps.store.client))
  app.get('/metrics', () => metricsResponse(deps.registry))

  return app
}
