import { AppError, attachment, cleanFilename, JOB_ID_PATTERN, type OriginalLink } from '@vpp/shared'
import { Hono } from 'hono'
import { MEDIA_TOKEN } from '../media-token.ts'
import { originalDoc, originalFileDoc } from '../openapi-original.ts'
import { removed, unkeptReason } from '../originals.ts'
import type { StatusEnv } from '../status-deps.ts'
import { jobNotFound, type RouteContext } from './context.ts'

/** A signed original URL (`/originals/{token}/{job_id}`) is its own credential. */
export const isSignedOriginalPath = (path: string) => {
  const [, first, token = '', id, ...rest] = path.split('/')
  return first === 'originals' && MEDIA_TOKEN.test(token) && id !== undefined && rest.length === 0
}

/**
 * The original back: `GET /jobs/{job_id}/original` answers a short-lived URL to the job's upload
 * while it is kept (KEEP_ORIGINALS; a failed job's, kept for a retry), 404 with the reason
 * otherwise; `GET /originals/{token}/{job_id}` is that URL with local storage.
 */
export function originalRoutes(ctx: RouteContext) {
  const { deps, now, viewerOf } = ctx
  const routes = new Hono<StatusEnv>()

  routes.get('/jobs/:job_id/original', originalDoc, async (c) => {
    const id = c.req.param('job_id')
    const job = JOB_ID_PATTERN.test(id) ? await deps.store.get(id, viewerOf(c)) : null
    if (!job) throw jobNotFound(id)
    const originals = deps.originals
    if (!originals) throw new AppError('unavailable', 'This status service hands out no originals', 503)
    const refused = unkeptReason(job)
    if (refused) throw refused
    const size = await originals.size(id)
    if (size === null) throw removed(job)
    const filename = cleanFilename(job.filename)
    const { url, expiresAt } = await originals.link(id, filename, now())
    // A URL that works for a few minutes: never reused from a cache.
    c.header('Cache-Control', 'private, no-store')
    return c.json({
      url,
      expires_at: expiresAt.toISOString(),
      filename,
      size_bytes: size,
    } satisfies OriginalLink)
  })

  const local = deps.originals?.local
  const serve = local?.files((c) => c.get('mediaFile') ?? '')
  routes.get('/originals/:token/:job_id', originalFileDoc, async (c, next) => {
    const { token, job_id: id } = c.req.param()
    if (!local || !serve || !JOB_ID_PATTERN.test(id))
      throw new AppError('not_found', `No original at ${c.req.path}`, 404)
    const check = await local.signer.check(token, id, now())
    if (check === 'expired') {
      throw new AppError(
        'token_expired',
        `This original's URL has expired; GET /jobs/${id}/original gives a fresh one`,
        403,
      )
    }
    if (check === 'invalid') throw new AppError('forbidden', 'This URL is not signed for this original', 403)
    const job = await deps.store.get(id)
    if (!job) throw jobNotFound(id)
    const refused = unkeptReason(job)
    if (refused) throw refused
    c.set('mediaFile', id)
    const response = await serve(c, next)
    if (!response) throw removed(job)
    response.headers.set('Content-Type', 'application/octet-stream')
    response.headers.set('Content-Disposition', attachment(job.filename))
    response.headers.set('Cache-Control', 'private, no-store')
    return response
  })
  return routes
}
