import { AppError, JOB_ID_PATTERN, type Viewer } from '@vpp/shared'
import type { Context, MiddlewareHandler } from 'hono'
import { Presenter } from '../presenter.ts'
import type { StatusDeps, StatusEnv } from '../status-deps.ts'

/** What every route module is built from: the deps, the clock, who asks, how jobs are shown. */
export interface RouteContext {
  deps: StatusDeps
  now: () => Date
  /** API_KEYS or ADMIN_API_KEYS set: each key sees its own jobs, admin keys every job. */
  keysOn: boolean
  presenter: Presenter
  /** Who asks (keys on); undefined: keys off, everyone sees everything. */
  viewerOf(c: Context<StatusEnv>): Viewer | undefined
  /** A job the asker may see, or 404 (another key's job is as absent as a missing one). */
  visibleJob(c: Context<StatusEnv>, id: string): Promise<void>
}

export const jobNotFound = (id: string) => new AppError('not_found', `Job ${id} not found`, 404)

export function routeContext(deps: StatusDeps): RouteContext {
  const now = deps.now ?? (() => new Date())
  const keysOn = Boolean(deps.apiKeys?.length || deps.adminKeys?.length)
  const viewerOf = (c: Context<StatusEnv>): Viewer | undefined =>
    keysOn ? { client: c.get('apiClient') ?? '', admin: c.get('apiAdmin') === true } : undefined
  return {
    deps,
    now,
    keysOn,
    presenter: new Presenter({
      publicUrl: deps.media ? deps.publicUrl : undefined,
      signer: deps.signer,
      directUrl: deps.directUrl,
      now,
    }),
    viewerOf,
    async visibleJob(c, id) {
      if (!JOB_ID_PATTERN.test(id) || !(await deps.store.visible(id, viewerOf(c)))) throw jobNotFound(id)
    },
  }
}

/** 403 unless the key is an admin key. Mounted only when keys are on (without, everyone is admin). */
export const adminOnly: MiddlewareHandler<StatusEnv> = async (c, next) => {
  if (!c.get('apiAdmin')) {
    throw new AppError('forbidden', `${c.req.path} needs an admin key (one of ADMIN_API_KEYS)`, 403)
  }
  await next()
}
