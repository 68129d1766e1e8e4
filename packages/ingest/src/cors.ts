import { corsOrigin } from '@vpp/shared'
import type { MiddlewareHandler } from 'hono'
import { cors } from 'hono/cors'

/** Headers a page on another origin reads: tus's (Location, Upload-Offset, ...) and the replay mark. */
const CORS_EXPOSED = [
  'Location',
  'Upload-Offset',
  'Upload-Length',
  'Upload-Expires',
  'Upload-Metadata',
  'Tus-Resumable',
  'Tus-Version',
  'Tus-Extension',
  'Tus-Max-Size',
  'Idempotent-Replayed',
  'Retry-After',
]

/**
 * CORS for pages on other origins (the console on status, an app) that upload from the browser,
 * from CORS_ORIGINS. tus answers its own preflights; its other answers, and every error, get the
 * headers here.
 */
export function apiCors(origins: readonly string[] | undefined): MiddlewareHandler {
  const headers = cors({
    origin: corsOrigin(origins),
    allowHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key'],
    exposeHeaders: CORS_EXPOSED,
    maxAge: 600,
  })
  return (c, next) =>
    c.req.method === 'OPTIONS' && c.req.path.startsWith('/uploads') ? next() : headers(c, next)
}
