import { AppError, type DlqRetryResponse } from '@vpp/shared'
import { Hono } from 'hono'
import { z } from 'zod'
import { dlqDeleteDoc, dlqDoc, dlqRetryDoc } from '../openapi.ts'
import type { StatusEnv } from '../status-deps.ts'
import { adminOnly, type RouteContext } from './context.ts'
import { limitParam, queryParam, validQuery } from './query.ts'

/** Stream entry ids: `<ms>-<seq>`. */
const MESSAGE_ID = /^\d{1,20}-\d{1,20}$/

/** `GET /dlq`'s query: validated by it, and its parameters in the OpenAPI document. */
export const DlqQuerySchema = z.object({
  limit: limitParam(1000, 100, 'Entries a page'),
  after: queryParam(
    z
      .string()
      .regex(MESSAGE_ID, { error: 'after must be a message_id such as 1700000000000-0' })
      .optional()
      .describe("The last page's last `message_id`")
      .meta({ examples: ['1700000000000-0'] }),
  ),
})

const deadLetterNotFound = (id: string) => new AppError('not_found', `No dead-letter entry ${id}`, 404)

/** The dead-letter queue: list, retry, discard (admin keys only). */
export function dlqRoutes(ctx: RouteContext) {
  const { deps, now } = ctx
  const routes = new Hono<StatusEnv>()
  // Without keys everyone is admin: no middleware (an async frame a request) to say so.
  if (ctx.keysOn) {
    routes.use('/dlq', adminOnly)
    routes.use('/dlq/*', adminOnly)
  }

  /** `?limit=` (1-1000, default 100) entries, oldest first; `?after=<message_id>` for the next page. */
  routes.get('/dlq', dlqDoc, validQuery(DlqQuerySchema), async (c) => {
    const { limit, after } = c.req.valid('query')
    return c.json(await deps.store.deadLetters.list(limit, after))
  })

  routes.post('/dlq/:message_id/retry', dlqRetryDoc, async (c) => {
    const id = c.req.param('message_id')
    const jobId = MESSAGE_ID.test(id) ? await deps.store.deadLetters.retry(id, now()) : null
    if (!jobId) throw deadLetterNotFound(id)
    deps.forgetJob?.(jobId)
    deps.logger.info('dead-lettered job queued again', { job_id: jobId, message_id: id })
    const body: DlqRetryResponse = {
      job_id: jobId,
      status: 'queued',
      message: 'Job queued for another attempt',
    }
    return c.json(body, 202)
  })

  routes.delete('/dlq/:message_id', dlqDeleteDoc, async (c) => {
    const id = c.req.param('message_id')
    if (!MESSAGE_ID.test(id) || !(await deps.store.deadLetters.delete(id))) throw deadLetterNotFound(id)
    deps.logger.info('dead-letter entry discarded', { message_id: id })
    return c.body(null, 204)
  })

  return routes
}
