import { AppError, JOB_ID_PATTERN, type Viewer } from '@vpp/shared'
import type { Context, MiddlewareHandler } from 'hono'
import { validator } from 'hono-openapi'
import type { z } from 'zod'
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

/**
 * The query string checked against `schema`, which also describes its parameters in the OpenAPI
 * document (hono-openapi's validator). A bad one answers 400 `bad_request` with the message of
 * its first problem: each field's schema carries the message a client reads.
 */
export function validQuery<T extends z.ZodType>(schema: T) {
  return validator('query', schema, (result) => {
    if (!result.success) throw new AppError('bad_request', result.error[0]?.message ?? 'Bad query', 400)
  })
}

/** A query parameter's first value: `?limit=5&limit=6` is read as `?limit=5`. */
export const firstValue = (value: unknown) => (Array.isArray(value) ? value[0] : value)
