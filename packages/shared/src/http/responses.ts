import type { Context, ErrorHandler, NotFoundHandler } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { AppError } from '../api/errors.ts'
import type { Logger } from '../logger.ts'
import { isRedisUnavailable } from '../redis/redis.ts'

/**
 * The AppError a thrown value stands for: itself, or the one an HTTPException carries as its
 * cause (Hono's timeout middleware throws HTTPExceptions only).
 */
export function appErrorOf(error: unknown): AppError | undefined {
  if (error instanceof AppError) return error
  if (error instanceof HTTPException && error.cause instanceof AppError) return error.cause
  return undefined
}

/** Every error leaves as JSON `{ error, message }` with the right status (one onError per app). */
export function jsonErrorHandler(logger: Logger): ErrorHandler {
  return (thrown, c) => {
    const error = appErrorOf(thrown) ?? thrown
    if (error instanceof AppError && (error.status === 503 || error.status === 507)) {
      logger.warn('dependency unavailable', { ...where(c), error: String(error.cause ?? error) })
    }
    // 503 and 507 (a full disk: `disk_full`) say what is wrong; other 5xx are bugs, said no more.
    if (error instanceof AppError && (error.status < 500 || error.status === 503 || error.status === 507)) {
      return c.json(
        { error: error.code, message: error.message },
        error.status as ContentfulStatusCode,
        error.headers,
      )
    }
    // Middlewares that built their own (JSON) response: bearer auth's 401.
    if (error instanceof HTTPException && error.res) return error.getResponse()
    if (error instanceof HTTPException && error.status < 500) {
      return c.json({ error: 'bad_request', message: error.message || 'Bad request' }, error.status)
    }
    if (isRedisUnavailable(error)) {
      logger.warn('redis unavailable', { ...where(c), error: String(error) })
      return c.json({ error: 'unavailable', message: 'The job store is unavailable; try again shortly' }, 503)
    }
    logger.error('request failed', { ...where(c), error: String(error) })
    return c.json({ error: 'internal_error', message: 'Internal server error' }, 500)
  }
}

/** What a log line about a failed request says of it. */
function where(c: Context) {
  return {
    request_id: c.get('requestId' as never) as string | undefined,
    method: c.req.method,
    path: c.req.path,
  }
}

export const jsonNotFound: NotFoundHandler = (c) =>
  c.json({ error: 'not_found', message: `No route for ${c.req.method} ${c.req.path}` }, 404)

/** One line out of a zod error: `url: url must be an absolute http:// or https:// URL`. */
export function zodMessage(error: {
  issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>
}): string {
  return error.issues
    .map((issue) => (issue.path.length ? `${issue.path.map(String).join('.')}: ` : '') + issue.message)
    .join('; ')
}

/** `GET /healthz`: 200 when Redis answers a PING within a second, 503 otherwise. */
export async function redisHealth(c: Context, store: { reachable(): Promise<boolean> }): Promise<Response> {
  if (await store.reachable()) return c.json({ status: 'ok' })
  return c.json({ error: 'unavailable', message: 'Redis is not reachable' }, 503)
}
