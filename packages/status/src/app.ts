import {
  AppError,
  type JobStore,
  jsonErrorHandler,
  jsonNotFound,
  type Logger,
  metricsResponse,
  redisHealth,
} from '@vpp/shared'
import { Hono } from 'hono'
import type { Registry } from 'prom-client'

export interface StatusDeps {
  store: JobStore
  logger: Logger
  registry: Registry
  now?: () => Date
}

/** Job ids are UUIDs; anything else cannot name a job (and is not looked up). */
const JOB_ID = /^[A-Za-z0-9-]{1,64}$/

/** The status API: job records, pipeline stats. Builds the app only; serve.ts listens. */
export function createApp(deps: StatusDeps) {
  const now = deps.now ?? (() => new Date())
  const app = new Hono()
  app.onError(jsonErrorHandler(deps.logger))
  app.notFound(jsonNotFound)

  app.get('/jobs/:job_id', async (c) => {
    const id = c.req.param('job_id')
    const job = JOB_ID.test(id) ? await deps.store.get(id) : null
    if (!job) throw new AppError('not_found', `Job ${id} not found`, 404)
    return c.json(job)
  })

  app.get('/stats', async (c) => c.json(await deps.store.stats(now())))

  app.get('/healthz', (c) => redisHealth(c, deps.store.client))
  app.get('/metrics', () => metricsResponse(deps.registry))

  return app
}
