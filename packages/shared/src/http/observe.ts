import type { MiddlewareHandler } from 'hono'
import { matchedRoutes } from 'hono/route'
import type { Logger } from '../logger.ts'
import type { HttpMetrics } from '../metrics.ts'

/** Header carrying the request id, both ways (a caller's own id is kept when it is sane). */
export const REQUEST_ID_HEADER = 'X-Request-Id'

/** Probes and scrapes: logged at debug, so a 15 s scrape interval does not flood the log. */
const QUIET_ROUTES = new Set(['/healthz', '/metrics'])

/** HTTP methods that get their own `method` label; any other is `other` (a bounded label). */
const KNOWN_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
])

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
  return async (c, next) => {
    const started = performance.now()
    // The caller's id when it is a sane one (hono/request-id's rule), else a new UUID.
    const given = c.req.header(REQUEST_ID_HEADER)
    const id = given && given.length <= 128 && /^[\w\-=]+$/.test(given) ? given : crypto.randomUUID()
    c.set('requestId' as never, id as never)
    // On Node (@hono/node-server) straight onto the ServerResponse, whose writeHead merges it
    // with the response's own headers: c.header() makes every response carry a Headers object,
    // which the adapter then copies header by header (~5 % of GET /jobs/{id}'s throughput).
    const outgoing = (c.env as { outgoing?: { setHeader?: unknown } } | undefined)?.outgoing
    if (typeof outgoing?.setHeader === 'function') outgoing.setHeader(REQUEST_ID_HEADER, id)
    else c.header(REQUEST_ID_HEADER, id)
    await next()
    const seconds = (performance.now() - started) / 1000
    const route = routeOf(c)
    const status = c.res.status
    const method = KNOWN_METHODS.has(c.req.method) ? c.req.method : 'other'
    metrics.requestDuration.observe({ method, route, status: String(status) }, seconds)
    const fields = {
      request_id: id,
      method: c.req.method,
      route,
      status,
      duration_ms: Math.round(seconds * 10_000) / 10,
    }
    if (QUIET_ROUTES.has(route)) logger.debug('request', fields)
    else if (status >= 500) logger.error('request', fields)
    else logger.info('request', fields)
  }
}
