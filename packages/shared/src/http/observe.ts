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
 * The symbol of HonoRequest's match-result getter (what hono/route's `matchedRoutes` reads): the
 * handlers a request matched, an array Hono's RegExpRouter shares between every request of a
 * route. Undefined if a Hono version has it no more (then every request asks `matchedRoutes`).
 */
const MATCH_RESULT = Object.getOwnPropertySymbols(HonoRequest.prototype).find((symbol) => {
  const getter = Object.getOwnPropertyDescriptor(HonoRequest.prototype, symbol)?.get
  return getter !== undefined && symbol.description === undefined
})

/** The route label of each array of matched handlers seen (see MATCH_RESULT). */
const routes = new WeakMap<object, string>()

/**
 * The route pattern that handled a request (`/jobs/:job_id`), or `unmatched`: a bounded label,
 * never a path with ids in it. Once a route, not once a request: `matchedRoutes` allocates an
 * array a request (~4 % of a `GET /jobs/{id}`), the label depends only on the handlers matched.
 */
function routeOf(c: Parameters<MiddlewareHandler>[0]): string {
  const handlers =
    MATCH_RESULT && (c.req as unknown as Record<symbol, [unknown] | undefined>)[MATCH_RESULT]?.[0]
  const cached = typeof handlers === 'object' && handlers !== null ? routes.get(handlers) : undefined
  if (cached !== undefined) return cached
  const route = matchedRoutes(c).findLast((r) => r.method !== 'ALL')?.path ?? 'unmatched'
  if (typeof handlers === 'object' && handlers !== null) routes.set(handlers, route)
  return route
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
