import { AppError, corsOrigin, isOutputName, JOB_ID_PATTERN, type JobStatus } from '@vpp/shared'
import { type Context, Hono, type MiddlewareHandler, type Next } from 'hono'
import { cors } from 'hono/cors'
import { MEDIA_TOKEN } from '../media-token.ts'
import { mediaDoc, mediaHeadDoc } from '../openapi.ts'
import { animatedDoc, thumbnailDoc } from '../openapi-renders.ts'
import type { StatusDeps, StatusEnv } from '../status-deps.ts'
import type { RouteContext } from './context.ts'
import { isRender, renderRoutes } from './renders.ts'

/** Headers a player on another origin needs to read. */
const MEDIA_HEADERS = ['Content-Length', 'Content-Range', 'Accept-Ranges', 'ETag']

const mediaNotFound = (path: string) => new AppError('not_found', `No media at ${path}`, 404)

/** A signed media URL (`/media/{token}/…`) is its own credential: players send no header. */
export const isSignedMediaPath = (path: string) =>
  MEDIA_TOKEN.test(path.split('/')[2] ?? '') && path.startsWith('/media/')

/**
 * The job and file a media path names (`first`: the job id or a token; `rest`: the file, after a
 * token `{job_id}/{file}`), once its token (signed URLs) or the asker's key lets it be served,
 * with the job's status; 403 or 404 otherwise.
 */
async function mediaTarget(ctx: RouteContext, c: Context<StatusEnv>, first: string, rest: string) {
  const { deps, now } = ctx
  let id = first
  let file = rest
  let status: JobStatus | null
  const signed = MEDIA_TOKEN.test(first)
  if (signed) {
    const slash = file.indexOf('/')
    id = file.slice(0, slash)
    file = file.slice(slash + 1)
    if (!deps.signer || slash < 0 || !JOB_ID_PATTERN.test(id)) throw mediaNotFound(c.req.path)
    const check = await deps.signer.check(first, id, now())
    if (check === 'expired') {
      throw new AppError('token_expired', `This media URL has expired; GET /jobs/${id} gives fresh ones`, 403)
    }
    if (check === 'invalid') throw new AppError('forbidden', 'This media URL is not signed for this job', 403)
    if (!isOutputName(file)) throw mediaNotFound(c.req.path)
    status = await deps.store.servesMedia(id)
  } else {
    if (!JOB_ID_PATTERN.test(id) || !isOutputName(file)) throw mediaNotFound(c.req.path)
    status = await deps.store.servesMedia(id, ctx.viewerOf(c))
  }
  // A deleted or expired job's files may linger until a transcoder removes them: they are gone already.
  if (!status) throw mediaNotFound(c.req.path)
  return { id, file, status, signed }
}

/**
 * A job's published files: `/media/{job_id}/{file}` (no keys, or with the owner's key), or
 * `/media/{token}/{job_id}/{file}` (signed: what job records give out when keys are on). Names
 * are checked after decoding (Hono decodes params): %2e%2e and %2F are caught.
 */
export function mediaRoutes(ctx: RouteContext, files: NonNullable<StatusDeps['media']>) {
  const routes = new Hono<StatusEnv>()
  routes.use('/media/*', cors({ origin: corsOrigin(ctx.deps.corsOrigins), exposeHeaders: MEDIA_HEADERS }))
  const serve = files((c) => c.get('mediaFile') ?? '')
  const render = renderRoutes(ctx)
  const answer = async (c: Context<StatusEnv>, next: Next, first: string, rest: string) => {
    const target = await mediaTarget(ctx, c, first, rest)
    const { id, file, status } = target
    // A thumbnail at a time or size, an animated preview: served as media once rendered.
    const name = isRender(file, c.req.query()) ? await render(c, target) : file
    c.set('mediaFile', `${id}/${name}`)
    const response = await serve(c, next)
    if (!response) throw mediaNotFound(c.req.path)
    // The playlists of a job not completed may still grow (one transcoded in chunks publishes
    // its stream as it goes): asked again every time, revalidated by ETag (304 while the same).
    // A completed job's are final and keep their short max-age. Set on the context (c.res):
    // Hono puts the context's headers over those of an answer a handler returns.
    if (status === 'completed' || !file.endsWith('.m3u8')) return response
    c.res = response
    c.header('Cache-Control', 'no-cache')
    return c.res
  }
  const media: MiddlewareHandler<StatusEnv, '/media/:first/:rest{.+}'> = (c, next) =>
    answer(c, next, c.req.param('first'), c.req.param('rest'))
  // The renders' own entries, for their parameters in the reference (signed URLs take the route below).
  routes.get('/media/:job_id/thumbnail.jpg', thumbnailDoc, (c, next) =>
    answer(c, next, c.req.param('job_id'), 'thumbnail.jpg'),
  )
  routes.get('/media/:job_id/animated.webp', animatedDoc, (c, next) =>
    answer(c, next, c.req.param('job_id'), 'animated.webp'),
  )
  routes.get('/media/:first/:rest{.+}', mediaDoc, media)
  // Hono answers HEAD with the GET route (the same handler): this one is there for its description.
  routes.on('HEAD', '/media/:first/:rest{.+}', mediaHeadDoc, media)
  return routes
}
