import { AppError, compareIds, EVENT_ID, FINAL_EVENTS, FINAL_STATUSES, JOB_ID_PATTERN } from '@vpp/shared'
import { type Context, Hono } from 'hono'
import type { EventHub } from '../event-hub.ts'
import { eventsDoc, jobEventsDoc } from '../openapi.ts'
import { SseStreams } from '../sse-stream.ts'
import type { StatusEnv } from '../status-deps.ts'
import { jobNotFound, type RouteContext } from './context.ts'

/** The Last-Event-ID a reconnecting EventSource sends, checked; undefined: none. */
function lastEventId(c: Context) {
  const id = c.req.header('last-event-id')
  if (id !== undefined && !EVENT_ID.test(id)) {
    throw new AppError(
      'bad_request',
      'Last-Event-ID must be the id of an event (such as 1700000000000-0)',
      400,
    )
  }
  return id
}

/** Server-sent events from the job event log: one job's, or every job's the caller may see. */
export function eventRoutes(ctx: RouteContext, hub: EventHub) {
  const { deps, viewerOf } = ctx
  const streams = new SseStreams({
    hub,
    log: deps.store.events,
    present: (event) => ctx.presenter.event(event),
    keepAliveMs: deps.keepAliveMs ?? 15_000,
  })
  const routes = new Hono<StatusEnv>()

  /** One job's events, from its first (or after Last-Event-ID); ends after its final event. */
  routes.get('/jobs/:job_id/events', jobEventsDoc, async (c) => {
    const id = c.req.param('job_id')
    const after = lastEventId(c)
    const job = JOB_ID_PATTERN.test(id) ? await deps.store.get(id, viewerOf(c)) : null
    if (!job) throw jobNotFound(id)
    const first = after === undefined ? ((await deps.store.firstEvent(id)) ?? '-') : after
    return streams.open(c.req.raw.signal, {
      wants: (event) => event.job_id === id,
      from: first,
      inclusive: after === undefined,
      // The job's last final event ends it, not an earlier failure a dead-letter retry undid.
      endAfter: async (event) => {
        if (!FINAL_EVENTS.has(event.type)) return false
        const last = event.type === 'job.deleted' ? null : await deps.store.lastEvent(id)
        return last === null || compareIds(event.id, last) >= 0
      },
      endedAlready: FINAL_STATUSES.includes(job.status),
    })
  })

  /** Every job's events the caller may see, from now (or after Last-Event-ID). */
  routes.get('/events', eventsDoc, async (c) => {
    const viewer = viewerOf(c)
    return streams.open(c.req.raw.signal, {
      wants: (event) => !viewer || viewer.admin || event.client === viewer.client,
      from: lastEventId(c),
    })
  })

  return routes
}
