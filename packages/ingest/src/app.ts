import {
  type AccessEnv,
  apiKeyAuth,
  createHttpMetrics,
  healthzDoc,
  jsonNotFound,
  metricsAuth,
  metricsDoc,
  metricsResponse,
  mountApiDocs,
  observeRequests,
  redisHealth,
} from '@vpp/shared'
import { Hono } from 'hono'
import { ingestContext } from './context.ts'
import { apiCors } from './cors.ts'
import type { IngestDeps } from './deps.ts'
import { ingestErrorHandler } from './errors.ts'
import { INGEST_API } from './openapi.ts'
import { tusRoutes } from './routes/tus.ts'
import { uploadRoutes } from './routes/upload.ts'
import { uploadUrlRoutes } from './routes/upload-url.ts'
import { watermarkRoutes } from './routes/watermarks.ts'

export type { IngestDeps } from './deps.ts'
export { isUpload } from './limits.ts'

/**
 * The ingest API: uploads and URL imports become jobs on the stream. Builds the app only; a
 * runtime's serve.ts listens. Middleware, then one route module per resource (routes/).
 */
export function createApp(deps: IngestDeps) {
  const ctx = ingestContext(deps)
  const { small } = ctx.limits
  const app = new Hono<AccessEnv>()
  app.onError(ingestErrorHandler(deps))
  app.notFound(jsonNotFound)
  app.use(observeRequests(deps.logger, createHttpMetrics(deps.registry)))
  app.use(apiCors(deps.corsOrigins))
  // A browser's CORS preflight (OPTIONS) carries no key: tus answers it, and it opens nothing.
  if (deps.apiKeys?.length || deps.adminKeys?.length) {
    app.use(apiKeyAuth(deps.apiKeys ?? [], deps.adminKeys, (c) => c.req.method === 'OPTIONS'))
  }

  app.route('/', uploadRoutes(ctx))
  app.route('/', uploadUrlRoutes(ctx))
  if (deps.tus) app.route('/', tusRoutes(ctx, deps.tus))
  app.route('/', watermarkRoutes(ctx))

  app.get('/healthz', healthzDoc, small, (c) => redisHealth(c, deps.store))
  app.get('/metrics', metricsDoc, small, metricsAuth(deps.metricsToken), () => metricsResponse(deps.registry))
  mountApiDocs(app, INGEST_API, small)
  return app
}
