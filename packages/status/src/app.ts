import {
  type AccessEnv,
  AppError,
  apiKeyAuth,
  createHttpMetrics,
  JOB_ID_PATTERN,
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
import { Hono } from 'hono'
import type { Registry } from 'prom-client'

export interface StatusDeps {
  store: JobStore
  logger: Logger
  registry: Registry
  /** API keys; empty: no key needed. */
  apiKeys?: readonly string[]
  /** Time limit of every request (REQUEST_TIMEOUT_MS). */
  requestTimeoutMs?: number
  now?: () => Date
}

/** Stream entry ids: `<ms>-<seq>`. */
const MESSAGE_ID = /^\d{1,20}-\d{1,20}$/

const deadLetterNotFound = (id: string) => new AppError('not_found', `No dead-letter entry ${id}`, 404)

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

  app.get('/jobs/:job_id', async (c) => {
    const id = c.req.param('job_id')
    // Anything that cannot name a job is not looked up.
    const job = JOB_ID_PATTERN.test(id) ? await deps.store.get(id) : null
    if (!job) throw new AppError('not_found', `Job ${id} not found`, 404)
    return c.json(job)
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
