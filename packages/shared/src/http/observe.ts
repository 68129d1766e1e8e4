import type { MiddlewareHandler } from 'hono'
import { HonoRequest } from 'hono/request'
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
 * The symbol of HonoRequest's match-result getter (what hono/route's `matchedRoutes` reads):
 * `[[handler, route], params][]`. Undefined if a Hono version has it no more (then every request
 * asks `matchedRoutes`).
 */
const MATCH_RESULT = Object.getOwnPropertySymbols(HonoRequest.prototype).find(
  (symbol) =>
    symbol.description === undefined &&
    Object.getOwnPropertyDescriptor(HonoRequest.prototype, symbol)?.get !== undefined,
)

type Matched = Array<[[unknown, { method: string; path: string }], unknown]>

/**
 * The route pattern that handled a request (`/jobs/:job_id`), or `unmatched`: a bounded label,
 * never a path with ids in it. Read off the match result without copying it: `matchedRoutes`
 * maps it to a new array a request (~4 % of a `GET /jobs/{id}`).
 */
function routeOf(c: Parameters<MiddlewareHandler>[0]): string {
  const matched =
    MATCH_RESULT && (c.req as unknown as Record<symbol, [Matched] | undefined>)[MATCH_RESULT]?.[0]
  if (!Array.isArray(matched)) {
    return matchedRoutes(c).findLast((r) => r.method !== 'ALL')?.path ?? 'unmatched'
  }
  for (let i = matched.length - 1; i >= 0; i--) {
    const route = matched[i]?.[0]?.[1]
    if (route && route.method !== 'ALL') return route.path
  }
  return 'unmatched'
}

/**
 * Every request gets an id (X-Request-Id, in the response too), one log line (method, route,
 * status, duration_ms, request_id; never headers, so never keys) and an observation of
 * `http_request_duration_seconds`. Register it first, so it sees every response, errors included.
 */
export function observeRequests(logger: Logger, metrics: HttpMetrics): MiddlewareHandler {
  /** Bounded: methods, routes and statuses are. */
  const durations = new Map<string, { observe(value: number): void }>()
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
    // The labelled child, once a label set (prom-client's labels() checks and copies the labels).
    const key = `${method} ${status} ${route}`
    let histogram = durations.get(key)
    if (!histogram) {
      histogram = metrics.requestDuration.labels({ method, route, status: String(status) })
      durations.set(key, histogram)
    }
    histogram.observe(seconds)
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
