import { AppError, type JobStatus, RateLimiter } from '@vpp/shared'
import type { Context } from 'hono'
import {
  animatedRender,
  type RenderQuery,
  renderName,
  renderSource,
  thumbnailRender,
  wantsThumbnailRender,
} from '../renders/params.ts'
import type { StatusEnv } from '../status-deps.ts'
import type { RouteContext } from './context.ts'

/** What mediaTarget found: the job, the file asked for, its status; and whether the URL was signed. */
export interface RenderTarget {
  id: string
  file: string
  status: JobStatus
  signed: boolean
}

/** Whether a media request is a render: `animated.webp`, or `thumbnail.jpg` with `time` or `width`. */
export function isRender(file: string, query: RenderQuery): boolean {
  return file === 'animated.webp' || (file === 'thumbnail.jpg' && wantsThumbnailRender(query))
}

/**
 * On-demand renders behind the media route's checks (signing, tenancy, CORS): the render's
 * published name (`renders/…`) once it is in storage, made first when it is not. Only a render
 * not in storage yet counts toward the limits: RENDER_RATE_PER_MINUTE per key (or per job
 * owner, for signed URLs), RENDER_MAX_PER_JOB distinct renders per job, and the process's gate.
 */
export function renderRoutes(ctx: RouteContext) {
  const { deps } = ctx
  const renders = deps.renders
  const limiter =
    renders && new RateLimiter(deps.store.rates, renders.limits.ratePerMinute, Date.now, 'renders')

  /** Who a render is counted to: the key, or the job's owner (signed URLs), or everyone (keys off). */
  const counted = async (c: Context<StatusEnv>, target: RenderTarget) => {
    if (!ctx.keysOn) return 'render:public'
    if (target.signed) return `render:${(await deps.store.renders.owner(target.id)) ?? 'public'}`
    return `render:${c.get('apiClient') ?? 'public'}`
  }

  return async (c: Context<StatusEnv>, target: RenderTarget): Promise<string> => {
    const { id, file } = target
    if (!renders || !deps.files || !limiter) {
      throw new AppError('unavailable', 'This status service does not render (no storage to write to)', 503)
    }
    const job = target.status === 'completed' ? await deps.store.get(id) : null
    const source = job && renderSource(job)
    if (!source)
      throw new AppError('not_found', `Job ${id} has no completed H.264 MP4 rendition to render from`, 404)
    const query = c.req.query()
    const render = file === 'animated.webp' ? animatedRender(query, source) : thumbnailRender(query, source)
    const name = `renders/${renderName(render)}`
    if (await deps.files.has(id, name)) return name
    await limiter.take(await counted(c, target))
    if (!(await deps.store.renders.claim(id, name, renders.limits.maxPerJob))) {
      throw new AppError(
        'render_limit',
        `Job ${id} has ${renders.limits.maxPerJob} renders already (RENDER_MAX_PER_JOB): ask for one of those`,
        429,
      )
    }
    await renders.make(id, source.name, render, name).catch(async (error: unknown) => {
      // Never made: it does not count toward the job's cap.
      await deps.store.renders.release(id, name)
      throw error
    })
    // Deleted (or expired) while it rendered: its files are to go, this one too.
    if (!(await deps.store.servesMedia(id))) {
      await deps.files.removeFolder(id, 'renders')
      throw new AppError('not_found', `Job ${id} not found`, 404)
    }
    return name
  }
}
