import type { Context, MiddlewareHandler } from 'hono'
import { bearerAuth } from 'hono/bearer-auth'
import { timingSafeEqual } from 'hono/utils/buffer'
import { AppError } from '../api/errors.ts'
import { isIpLiteral } from '../security/url-policy.ts'
import type { RateCounts } from '../store/rate-counts.ts'

/**
 * Context variables set by the access middlewares: the key's id (`apiClient`), and whether it is
 * one of ADMIN_API_KEYS (`apiAdmin`), which see every job, `/stats` and the dead-letter queue.
 */
export type AccessEnv = { Variables: { apiClient?: string; apiAdmin?: boolean } }

/**
 * Routes that stay open when API keys are required: probes and scrapers carry no key, and the
 * API reference (`/openapi.json`, `/docs` and its files) is public, as Mux's and Cloudflare's
 * are: it tells how to send a key, and nothing a key guards.
 */
export const OPEN_PATHS: ReadonlySet<string> = new Set(['/healthz', '/metrics', '/openapi.json', '/docs'])

/** Whether `path` is one of OPEN_PATHS or a file of the reference page (`/docs/…`). */
export const isOpenPath = (path: string) => OPEN_PATHS.has(path) || path.startsWith('/docs/')

const problem = (error: string, message: string) => ({ error, message })

/**
 * A stable name for an API key (96 bits of its SHA-256): what jobs are owned by, and what rate
 * limits and logs may show. The key itself is never stored.
 */
export async function keyId(key: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key)))
  return `key-${Array.from(digest.subarray(0, 12), (b) => b.toString(16).padStart(2, '0')).join('')}`
}

/**
 * `Authorization: Bearer <key>` on every route but OPEN_PATHS (and those `open` lets through)
 * when `keys` or `adminKeys` is not empty; 401 otherwise. Keys are compared in constant time
 * (Hono's timingSafeEqual compares SHA-256 digests), and only a hash-derived id of the matching
 * key is kept (as `apiClient`, with `apiAdmin` for an admin key).
 */
export function apiKeyAuth(
  plainKeys: readonly string[],
  adminKeys: readonly string[] = [],
  open: (c: Context) => boolean = () => false,
): MiddlewareHandler<AccessEnv> {
  const keys = [...adminKeys, ...plainKeys]
  if (keys.length === 0) return (_c, next) => next()
  const ids = Promise.all(keys.map(keyId))
  const auth = bearerAuth({
    async verifyToken(token, c) {
      let match = -1
      // Every key is compared, so the time taken does not say which one matched.
      for (const [index, key] of keys.entries()) {
        if ((await timingSafeEqual(key, token)) && match < 0) match = index
      }
      if (match < 0) return false
      ;(c as Context<AccessEnv>).set('apiClient', (await ids)[match])
      ;(c as Context<AccessEnv>).set('apiAdmin', match < adminKeys.length)
      return true
    },
    noAuthenticationHeader: {
      message: problem('unauthorized', 'An API key is required: send Authorization: Bearer <key>'),
    },
    invalidAuthenticationHeader: {
      message: problem('unauthorized', 'The Authorization header must be "Bearer <key>"'),
    },
    invalidToken: { message: problem('unauthorized', 'The API key is not valid') },
  })
  return async (c, next) =>
    isOpenPath(c.req.path) || open(c as unknown as Context) ? next() : auth(c as unknown as Context, next)
}

/**
 * `/metrics` behind METRICS_TOKEN: `Authorization: Bearer <token>`, compared in constant time
 * (Hono's timingSafeEqual compares SHA-256 digests), else 401 `unauthorized`. Unset: open, and
 * any Authorization header is ignored (Prometheus sends `Bearer ` from an empty token file).
 * Apart from API_KEYS: a scraper gets no key, and a key reads no metrics.
 */
export function metricsAuth(token: string | undefined): MiddlewareHandler {
  if (!token) return (_c, next) => next()
  return async (c, next) => {
    const sent = /^Bearer +([^\s]+) *$/i.exec(c.req.header('authorization') ?? '')?.[1]
    if (sent === undefined || !(await timingSafeEqual(token, sent))) {
      const error = new AppError(
        'unauthorized',
        sent === undefined
          ? 'The metrics need METRICS_TOKEN: send Authorization: Bearer <token>'
          : 'The metrics token is not valid',
        401,
      )
      error.headers['WWW-Authenticate'] = 'Bearer realm="metrics"'
      throw error
    }
    await next()
  }
}

/** Too many requests: 429 with Retry-After. */
export class RateLimitedError extends AppError {
  constructor(limit: number, retryAfterSeconds: number, what = 'jobs created') {
    super('rate_limited', `Too many ${what}: at most ${limit} a minute; retry in ${retryAfterSeconds}s`, 429)
    this.headers['Retry-After'] = String(retryAfterSeconds)
  }
}

/**
 * Per-client limit on job creation, in fixed one-minute windows counted in Redis (so every ingest
 * replica shares it). A window's counter expires with the window.
 */
export class RateLimiter {
  constructor(
    /** The counts, on the job store's connection and under its command deadline. */
    readonly counts: RateCounts,
    readonly perMinute: number,
    readonly now: () => number = Date.now,
    /** What is counted, for the message (`jobs created`, `renders`). */
    readonly what = 'jobs created',
  ) {}

  /** Count one creation by `clientId`; throws RateLimitedError past the limit. */
  async take(clientId: string): Promise<void> {
    if (this.perMinute <= 0) return
    const now = this.now()
    const window = Math.floor(now / 60_000)
    const msLeft = (window + 1) * 60_000 - now
    const count = await this.counts.add(clientId, window, msLeft + 1000)
    if (count > this.perMinute)
      throw new RateLimitedError(this.perMinute, Math.max(1, Math.ceil(msLeft / 1000)), this.what)
  }
}

/**
 * The client's address as the reverse proxy in front of the service says it (TRUST_PROXY): the
 * last address of `X-Forwarded-For`, the one that proxy added; any before it are whatever the
 * client wrote. Undefined when there is none (or it is not an IP address).
 */
export function forwardedFor(c: Context): string | undefined {
  const last = c.req.header('x-forwarded-for')?.split(',').pop()?.trim()
  return last && isIpLiteral(last) ? last : undefined
}

/** Who is asking: the API key's id when keys are on, else the peer address from `address`. */
export function clientOf(c: Context<AccessEnv>, address: (c: Context) => string | undefined): string {
  return c.get('apiClient') ?? `ip-${address(c) ?? 'unknown'}`
}

/**
 * The request's `Idempotency-Key`, scoped to `client` (`{client}:{key}`, so keys of different
 * clients never meet), or undefined without one; 400 unless 1-255 printable ASCII characters.
 */
export function idempotencyScope(c: Context, client: string): string | undefined {
  const key = c.req.header('idempotency-key')
  if (key === undefined) return undefined
  if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
    throw new AppError('bad_request', 'Idempotency-Key must be 1-255 printable ASCII characters', 400)
  }
  return `${client}:${key}`
}

/** hono/cors's `origin` for CORS_ORIGINS: `*` (any, also when unset) or the listed origins. */
export const corsOrigin = (origins: readonly string[] | undefined): string | string[] =>
  !origins?.length || origins.includes('*') ? '*' : [...origins]
