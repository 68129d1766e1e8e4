import {
  AppError,
  type CancelResponse,
  JOB_ID_PATTERN,
  JOB_STATUSES,
  type Job,
  type JobStore,
} from '@vpp/shared'
import { Hono } from 'hono'
import { z } from 'zod'
import { shownDeliveries } from '../delivery-log.ts'
import { cancelJobDoc, deleteJobDoc, deliveriesDoc, getJobDoc, listJobsDoc, statsDoc } from '../openapi.ts'
import type { StatusEnv } from '../status-deps.ts'
import { adminOnly, jobNotFound, type RouteContext } from './context.ts'
import { limitParam, queryParam, validQuery } from './query.ts'

/** `GET /jobs`'s query: validated by it, and its parameters in the OpenAPI document. */
export const ListJobsQuerySchema = z.object({
  status: queryParam(
    z
      .enum(JOB_STATUSES, { error: `status must be one of ${JOB_STATUSES.join(', ')}` })
      .optional()
      .describe('Only jobs in this status')
      .meta({ examples: ['completed'] }),
  ),
  limit: limitParam(100, 20, 'Jobs a page'),
  cursor: queryParam(
    z
      .string()
      .regex(/^\d{1,15}$/, { error: 'cursor must be the next_cursor of a previous page' })
      .optional()
      .describe("The previous page's `next_cursor`")
      .meta({ examples: ['118'] }),
  ),
})

/**
 * Job records: list, read, cancel, delete, their webhook deliveries; and the pipeline's stats
 * (admin keys only).
 */
export function jobRoutes(ctx: RouteContext) {
  const { deps, now, presenter, viewerOf, visibleJob } = ctx
  const routes = new Hono<StatusEnv>()

  /** `?status=` (one of the statuses), `?limit=` (1-100, default 20), `?cursor=` from the last page. */
  routes.get('/jobs', listJobsDoc, validQuery(ListJobsQuerySchema), async (c) => {
    const { status, limit, cursor } = c.req.valid('query')
    const page = await deps.store.list({
      status,
      limit,
      cursor: cursor === undefined ? undefined : Number(cursor),
      viewer: viewerOf(c),
    })
    const jobs = page.jobs.map((job) => presenter.job(job))
    // Presented at once unless media URLs are signed or S3's: then the promises.
    const shown = jobs.some((job) => job instanceof Promise) ? await Promise.all(jobs) : (jobs as Job[])
    return c.json({ jobs: shown, next_cursor: page.nextCursor })
  })

  routes.get('/jobs/:job_id', getJobDoc, async (c) => {
    const id = c.req.param('job_id')
    // Anything that cannot name a job is not looked up.
    const job = JOB_ID_PATTERN.test(id) ? await deps.store.get(id, viewerOf(c)) : null
    if (!job) throw jobNotFound(id)
    return c.json(await presenter.job(job))
  })

  /**
   * The job's webhook delivery attempts, oldest first (the last 100): those at its callback_url,
   * and to admin keys (or anyone, keys off) those at WEBHOOK_URLS, without their secrets.
   */
  routes.get('/jobs/:job_id/deliveries', deliveriesDoc, async (c) => {
    const id = c.req.param('job_id')
    await visibleJob(c, id)
    const { entries, callbackUrl } = await deliveryLog(deps.store, id)
    const admin = viewerOf(c)?.admin ?? true
    return c.json({ deliveries: shownDeliveries(entries, { admin, callbackUrl }) })
  })

  routes.delete('/jobs/:job_id', deleteJobDoc, async (c) => {
    const id = c.req.param('job_id')
    await visibleJob(c, id)
    const before = await deps.store.delete(id)
    deps.forgetJob?.(id)
    if (before === null) throw jobNotFound(id)
    deps.logger.info('job deleted', { job_id: id, status_before: before })
    return c.body(null, 204)
  })

  routes.post('/jobs/:job_id/cancel', cancelJobDoc, async (c) => {
    const id = c.req.param('job_id')
    await visibleJob(c, id)
    const before = await deps.store.cancel(id, now())
    deps.forgetJob?.(id)
    if (before === null) throw jobNotFound(id)
    if (before === 'completed' || before === 'failed' || before === 'expired') {
      throw new AppError('job_finished', `Job ${id} is already ${before}; it cannot be canceled`, 409)
    }
    if (before !== 'canceled') deps.logger.info('job canceled', { job_id: id, status_before: before })
    return c.json({ job_id: id, status: 'canceled' } satisfies CancelResponse, 202)
  })

  // Without keys everyone is admin: no middleware (an async frame a request) to say so.
  if (ctx.keysOn) routes.use('/stats', adminOnly)
  routes.get('/stats', statsDoc, async (c) => c.json(await deps.store.stats.read(now())))

  return routes
}

/** Job `id`'s delivery log, and its callback_url when an entry written before targets were kept needs it. */
async function deliveryLog(store: JobStore, id: string) {
  const entries = await store.webhooks.log(id)
  const callbackUrl = entries.some((entry) => entry.target === undefined)
    ? await store.webhooks.callbackUrl(id)
    : undefined
  return { entries, callbackUrl }
}
