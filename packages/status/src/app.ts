import {
  apiKeyAuth,
  createHttpMetrics,
  healthzDoc,
  jsonErrorHandler,
  jsonNotFound,
  metricsAuth,
  metricsDoc,
  metricsResponse,
  mountApiDocs,
  NO_BODY_LIMIT,
  observeRequests,
  PROFILE_NAMES,
  redisHealth,
  requestLimits,
} from '@vpp/shared'
import { Hono } from 'hono'
import { STATUS_API } from './openapi.ts'
import { captionRoutes, isCaptionUpload } from './routes/captions.ts'
import { consoleRoutes, isConsolePath } from './routes/console.ts'
import { routeContext } from './routes/context.ts'
import { dlqRoutes } from './routes/dlq.ts'
import { eventRoutes } from './routes/events.ts'
import { jobRoutes } from './routes/jobs.ts'
import { isSignedMediaPath, mediaRoutes } from './routes/media.ts'
import { isSignedOriginalPath, originalRoutes } from './routes/original.ts'
import type { StatusDeps, StatusEnv } from './status-deps.ts'

export type { StatusDeps } from './status-deps.ts'

/**
 * The status API: job records, their media and events, pipeline stats, the dead-letter queue.
 * Builds the app only: the middleware every request passes, then one route module a resource
 * (routes/), each mounted here.
 */
export function createApp(deps: StatusDeps) {
  const ctx = routeContext(deps)
  if (ctx.keysOn && !deps.signer) throw new Error('media URLs need a signer when API keys are on')
  const app = new Hono<StatusEnv>()
  app.onError(jsonErrorHandler(deps.logger))
  app.notFound(jsonNotFound)
  app.use(observeRequests(deps.logger, createHttpMetrics(deps.registry)))
  // No route takes a body (the DLQ's POST and DELETE included): a tiny limit, and a short time.
  // Caption uploads excepted: their route sets its own (CAPTIONS_MAX_BYTES).
  const limits = requestLimits({ maxBytes: NO_BODY_LIMIT, timeoutMs: deps.requestTimeoutMs ?? 10_000 })
  app.use((c, next) => (isCaptionUpload(c.req.method, c.req.path) ? next() : limits(c, next)))
  if (ctx.keysOn) {
    // A signed media URL is its own credential, and the console page asks for the key itself.
    const open = (path: string) =>
      isSignedMediaPath(path) || isSignedOriginalPath(path) || isConsolePath(path)
    app.use(apiKeyAuth(deps.apiKeys ?? [], deps.adminKeys, (c) => open(c.req.path)))
  }

  app.route('/', jobRoutes(ctx))
  app.route('/', captionRoutes(ctx))
  if (deps.media) app.route('/', mediaRoutes(ctx, deps.media))
  app.route('/', originalRoutes(ctx))
  if (deps.events) app.route('/', eventRoutes(ctx, deps.events))
  app.route('/', dlqRoutes(ctx))

  app.get('/healthz', healthzDoc, (c) => redisHealth(c, deps.store))
  app.get('/metrics', metricsDoc, metricsAuth(deps.metricsToken), () => metricsResponse(deps.registry))
  if (deps.console) {
    app.route('/', consoleRoutes({ ...deps.console, keysOn: ctx.keysOn, profiles: PROFILE_NAMES }))
  }
  mountApiDocs(app, STATUS_API)

  return app
}
