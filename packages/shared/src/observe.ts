import type { MiddlewareHandler } from 'hono'
import { requestId } from 'hono/request-id'
import { matchedRoutes } from 'hono/route'
import type { Logger } from './logger.ts'
import type { HttpMetrics } from './metrics.ts'

/** Header carrying the request id, both ways (a caller's own id is kept when it is sane). */
export const REQUEST_ID_HEADER = 'X-Request-Id'

/** Probes and scrapes: logged at debug, so a 15 s scrape interval does not flood the log. */
const QUIET_ROUTES = new Set(['/healthz', '/metrics'])

/**
 * The route pattern that handled a request (`/jobs/:job_id`), or `unmatched`: a bounded label,
 * never a path with ids in it.
 */
function routeOf(c: Parameters<MiddlewareHandler>[0]): string {
  const handler = matchedRoutes(c).findLast((r) => r.method !== 'ALL')
  return handler?.path ?? 'unmatched'
}

/**
 * Every request gets an id (X-Request-Id, in the response too), one log line (method, route,
 * status, duration_ms, request_id; never headers, so never keys) and an observation of
 * `http_request_duration_seconds`. Register it first, so it sees every response, errors included.
 */
export function observeRequests(logger: Logger, metrics: HttpMetrics): MiddlewareHandler {
  const withId = requestId({ headerName: REQUEST_ID_HEADER, limitLength: 128 })
  return (c, next) =>
    withId(c, async () => {
      const started = performance.now()
      await next()
      const seconds = (performance.now() - started) / 1000
      const route = routeOf(c)
      const status = c.res.status
      metrics.requestDuration.observe({ method: c.req.method, route, status: String(status) }, seconds)
      const fields = {
        request_id: c.get('requestId' as never) as string,
        method: c.req.method,
        route,
        status,
        duration_ms: Math.round(seconds * 10_000) / 10,
      }
      if (QUIET_ROUTES.has(route)) logger.debug('request', fields)
      else if (status >= 500) logger.error('request', fields)
      else logger.info('request', fields)
    })
}
