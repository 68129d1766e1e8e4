import {
  type AccessEnv,
  AppError,
  apiKeyAuth,
  type CancelResponse,
  compareIds,
  corsOrigin,
  createHttpMetrics,
  type DlqRetryResponse,
  EVENT_ID,
  FINAL_EVENTS,
  FINAL_STATUSES,
  healthzDoc,
  isOutputName,
  JOB_ID_PATTERN,
  JOB_STATUSES,
  type Job,
  type JobEvent,
  type JobStatus,
  type JobStore,
  jsonErrorHandler,
  jsonNotFound,
  type Logger,
  metricsAuth,
  metricsDoc,
  metricsResponse,
  mountApiDocs,
  NO_BODY_LIMIT,
  observeRequests,
  PROFILE_NAMES,
  redisHealth,
  requestLimits,
  type Viewer,
} from '@vpp/shared'
import { type Context, Hono, type MiddlewareHandler } from 'hono'
import { cors } from 'hono/cors'
import type { Registry } from 'prom-client'
import { isConsolePath, mountConsole } from './console.ts'
import { shownDeliveries } from './delivery-log.ts'
import { type EventHub, OrderedFeed } from './event-hub.ts'
import { MEDIA_TOKEN, type MediaSigner } from './media-token.ts'
import {
  cancelJobDoc,
  deleteJobDoc,
  deliveriesDoc,
  dlqDeleteDoc,
  dlqDoc,
  dlqRetryDoc,
  eventsDoc,
  getJobDoc,
  jobEventsDoc,
  listJobsDoc,
  mediaDoc,
  mediaHeadDoc,
  STATUS_API,
  statsDoc,
} from './openapi.ts'
import { type DirectUrl, Presenter } from './presenter.ts'

export interface StatusDeps {
  store: JobStore
  logger: Logger
  registry: Registry
  /** API keys; empty: no key needed. */
  apiKeys?: readonly string[]
  /** METRICS_TOKEN: the bearer token `/metrics` asks for; unset: open. */
  metricsToken?: string
  /** Time limit of every request (REQUEST_TIMEOUT_MS). */
  requestTimeoutMs?: number
  /**
   * Serves a job's published file (the runtime's file server over OUTPUT_DIR; the route checks
   * the names first): `/media/{job_id}/{file}`. Unset: no media route (S3 URLs come from storage).
   */
  media?: (file: (c: Context<StatusEnv>) => string) => MiddlewareHandler
  /** Where clients fetch an output directly instead of through `/media` (S3); see Presenter. */
  directUrl?: DirectUrl
  /** Base of the media URLs (PUBLIC_URL). */
  publicUrl?: string
  /** Signed playback (API keys on): media URLs carry a token made by this signer. */
  signer?: MediaSigner
  /** ADMIN_API_KEYS: keys that see every job, `/stats` and the dead-letter queue. */
  adminKeys?: readonly string[]
  /** The live end of the event log, for the SSE routes; unset: no SSE routes. */
  events?: EventHub
  /** How often an idle event stream gets a comment line (SSE_KEEPALIVE_MS). */
  keepAliveMs?: number
  /** Origins allowed to fetch media (CORS_ORIGINS); default any. */
  corsOrigins?: readonly string[]
  /** The web console at `/` (unset: none); keys and profiles come from these deps. */
  console?: { ingestUrl?: string; ingestPort?: number }
  /**
   * Drops what the read cache (STATUS_READ_CACHE_MS) holds of a job this service has just
   * changed, so its next read sees the change at once (the invalidation may come a little later).
   */
  forgetJob?: (id: string) => void
  now?: () => Date
}

/** The app's context: who asks, and the media file a route picked. */
type StatusEnv = { Variables: AccessEnv['Variables'] & { mediaFile?: string } }

/** Stream entry ids: `<ms>-<seq>`. */
const MESSAGE_ID = /^\d{1,20}-\d{1,20}$/

const deadLetterNotFound = (id: string) => new AppError('not_found', `No dead-letter entry ${id}`, 404)
const mediaNotFound = (path: string) => new AppError('not_found', `No media at ${path}`, 404)
/** Frames queued for one SSE client past which it is taken to have stopped reading. */
const MAX_QUEUED_FRAMES = 10_000
const KEEP_ALIVE = new TextEncoder().encode(': keep-alive\n\n')

/** Headers a player on another origin needs to read. */
const MEDIA_HEADERS = ['Content-Length', 'Content-Range', 'Accept-Ranges', 'ETag']

/** The status API: job records, pipeline stats, the dead-letter queue. Builds the app only. */
export function createApp(deps: StatusDeps) {
  const now = deps.now ?? (() => new Date())
  const app = new Hono<StatusEnv>()
  const keysOn = Boolean(deps.apiKeys?.length || deps.adminKeys?.length)
  if (keysOn && !deps.signer) throw new Error('media URLs need a signer when API keys are on')
  app.onError(jsonErrorHandler(deps.logger))
  app.notFound(jsonNotFound)
  app.use(observeRequests(deps.logger, createHttpMetrics(deps.registry)))
  // No route takes a body (the DLQ's POST and DELETE included): a tiny limit, and a short time.
  app.use(requestLimits({ maxBytes: NO_BODY_LIMIT, timeoutMs: deps.requestTimeoutMs ?? 10_000 }))

  // A signed media URL is its own credential: players send no header.
  const signedMedia = (c: Context) =>
    MEDIA_TOKEN.test(c.req.path.split('/')[2] ?? '') && c.req.path.startsWith('/media/')
  if (keysOn) {
    app.use(
      apiKeyAuth(deps.apiKeys ?? [], deps.adminKeys, (c) => signedMedia(c) || isConsolePath(c.req.path)),
    )
  }

  /** Who asks (keys on): each key sees its own jobs, admin keys every job. */
  const viewerOf = (c: Context<StatusEnv>): Viewer | undefined =>
    keysOn ? { client: c.get('apiClient') ?? '', admin: c.get('apiAdmin') === true } : undefined
  const adminOnly: MiddlewareHandler<StatusEnv> = async (c, next) => {
    if (keysOn && !c.get('apiAdmin')) {
      throw new AppError('forbidden', `${c.req.path} needs an admin key (one of ADMIN_API_KEYS)`, 403)
    }
    await next()
  }
  const jobNotFound = (id: string) => new AppError('not_found', `Job ${id} not found`, 404)
  /** A job the asker may see, or 404 (another key's job is as absent as a missing one). */
  const visibleJob = async (c: Context<StatusEnv>, id: string) => {
    if (!JOB_ID_PATTERN.test(id) || !(await deps.store.visible(id, viewerOf(c)))) throw jobNotFound(id)
  }

  const presenter = new Presenter({
    publicUrl: deps.media ? deps.publicUrl : undefined,
    signer: deps.signer,
    directUrl: deps.directUrl,
    now,
  })
  const present = (job: Job) => presenter.job(job)

  /** `?status=` (one of the statuses), `?limit=` (1-100, default 20), `?cursor=` from the last page. */
  app.get('/jobs', listJobsDoc, async (c) => {
    const status = c.req.query('status')
    const limit = Number(c.req.query('limit') ?? 20)
    const cursor = c.req.query('cursor')
    if (status !== undefined && !JOB_STATUSES.includes(status as JobStatus)) {
      throw new AppError('bad_request', `status must be one of ${JOB_STATUSES.join(', ')}`, 400)
    }
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      throw new AppError('bad_request', 'limit must be a whole number from 1 to 100', 400)
    }
    if (cursor !== undefined && !/^\d{1,15}$/.test(cursor)) {
      throw new AppError('bad_request', 'cursor must be the next_cursor of a previous page', 400)
    }
    const page = await deps.store.list({
      status: status as JobStatus | undefined,
      limit,
      cursor: cursor === undefined ? undefined : Number(cursor),
      viewer: viewerOf(c),
    })
    const jobs = page.jobs.map(present)
    // Presented at once unless media URLs are signed or S3's: then the promises.
    const shown = jobs.some((job) => job instanceof Promise) ? await Promise.all(jobs) : (jobs as Job[])
    return c.json({ jobs: shown, next_cursor: page.nextCursor })
  })

  app.get('/jobs/:job_id', getJobDoc, async (c) => {
    const id = c.req.param('job_id')
    // Anything that cannot name a job is not looked up.
    const job = JOB_ID_PATTERN.test(id) ? await deps.store.get(id, viewerOf(c)) : null
    if (!job) throw jobNotFound(id)
    return c.json(await present(job))
  })

  if (deps.media) {
    app.use('/media/*', cors({ origin: corsOrigin(deps.corsOrigins), exposeHeaders: MEDIA_HEADERS }))
    const serve = deps.media((c) => c.get('mediaFile') ?? '')
    /**
     * `/media/{job_id}/{file}` (no keys, or with the owner's key), or `/media/{token}/{job_id}/{file}`
     * (signed: what job records give out when keys are on). Names are checked after decoding (Hono
     * decodes params): %2e%2e and %2F are caught here.
     */
    const media: MiddlewareHandler<StatusEnv, '/media/:first/:rest{.+}'> = async (c, next) => {
      const first = c.req.param('first')
      let id = first
      let file = c.req.param('rest')
      let status: JobStatus | null
      if (MEDIA_TOKEN.test(first)) {
        const slash = file.indexOf('/')
        id = file.slice(0, slash)
        file = file.slice(slash + 1)
        if (!deps.signer || slash < 0 || !JOB_ID_PATTERN.test(id)) throw mediaNotFound(c.req.path)
        const check = await deps.signer.check(first, id, now())
        if (check === 'expired') {
          throw new AppError(
            'token_expired',
            `This media URL has expired; GET /jobs/${id} gives fresh ones`,
            403,
          )
        }
        if (check === 'invalid')
          throw new AppError('forbidden', 'This media URL is not signed for this job', 403)
        if (!isOutputName(file)) throw mediaNotFound(c.req.path)
        status = await deps.store.servesMedia(id)
      } else {
        if (!JOB_ID_PATTERN.test(id) || !isOutputName(file)) throw mediaNotFound(c.req.path)
        status = await deps.store.servesMedia(id, viewerOf(c))
      }
      // A deleted or expired job's files may linger until a transcoder removes them: they are
      // gone already.
      if (!status) throw mediaNotFound(c.req.path)
      c.set('mediaFile', `${id}/${file}`)
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
    app.get('/media/:first/:rest{.+}', mediaDoc, media)
    // Hono answers HEAD with the GET route (the same handler): this one is there for its description.
    app.on('HEAD', '/media/:first/:rest{.+}', mediaHeadDoc, media)
  }

  if (deps.events) {
    const hub = deps.events
    const keepAliveMs = deps.keepAliveMs ?? 15_000
    /**
     * An event's SSE frame, made once however many clients get it: the hub hands every subscriber
     * the same event object, and what a client sees of it does not depend on who asks (access
     * only decides whether it gets it). The JSON has no line breaks: one `data:` line.
     */
    const frames = new WeakMap<JobEvent, Promise<Uint8Array>>()
    const encoder = new TextEncoder()
    const frameOf = (event: JobEvent) => {
      let frame = frames.get(event)
      if (!frame) {
        frame = presenter
          .event(event)
          .then((data) =>
            encoder.encode(`event: ${event.type}\nid: ${event.id}\ndata: ${JSON.stringify(data)}\n\n`),
          )
        frames.set(event, frame)
      }
      return frame
    }
    const lastEventId = (c: Context) => {
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
    /**
     * An SSE stream of the events `wants` accepts: those after `from` first (`inclusive`: from it
     * on), from the log, then live ones, with no gap and no repeat; a comment line every
     * keepAliveMs. `endAfter`: ends after such an event, or once the backlog is sent when
     * `endedAlready`.
     */
    const eventStream = (
      c: Context,
      options: {
        wants: (event: JobEvent) => boolean
        from?: string
        inclusive?: boolean
        endAfter?: (event: JobEvent) => boolean | Promise<boolean>
        endedAlready?: boolean
      },
    ) => {
      // A plain ReadableStream per client, fed the bytes every client shares (frameOf): a
      // TransformStream per client (hono's streamSSE) cost 3x the p99 of a bare server (bench:sse).
      let queue: ReadableStreamDefaultController<Uint8Array> | undefined
      let finish = () => {}
      const done = new Promise<void>((resolve) => {
        finish = resolve
      })
      const send = (bytes: Uint8Array) => {
        if (!queue) return
        queue.enqueue(bytes)
        // A client this far behind has stopped reading: it is let go, and resumes by id.
        if ((queue.desiredSize ?? 0) < -MAX_QUEUED_FRAMES) finish()
      }
      const body = new ReadableStream<Uint8Array>(
        {
          start(controller) {
            queue = controller
          },
          cancel: () => finish(),
        },
        new CountQueuingStrategy({ highWaterMark: 1 }),
      )
      c.req.raw.signal.addEventListener('abort', () => finish(), { once: true })
      void (async () => {
        let writing = Promise.resolve()
        let ended = false
        const feed = new OrderedFeed((event) => {
          writing = writing
            .then(async () => {
              if (ended) return
              send(await frameOf(event))
              if (await options.endAfter?.(event)) {
                ended = true
                finish()
              }
            })
            .catch(() => finish())
        })
        const unsubscribe = hub.subscribe(options.wants, feed.live, () => finish())
        const keepAlive = setInterval(() => {
          writing = writing.then(() => send(KEEP_ALIVE)).catch(() => finish())
        }, keepAliveMs)
        try {
          for (let cursor = options.from, first = true; cursor !== undefined; first = false) {
            const page = await deps.store.events.after(cursor, 1000, first && options.inclusive)
            feed.backlog(page.filter(options.wants))
            cursor = page.length === 1000 ? page.at(-1)?.id : undefined
          }
          feed.caughtUp()
          if (options.endedAlready) writing = writing.then(() => finish())
          await done
          await writing
        } catch {
          // Redis failed under the backlog: the stream ends, the client resumes by id.
        } finally {
          clearInterval(keepAlive)
          unsubscribe()
          const controller = queue
          queue = undefined
          try {
            controller?.close()
          } catch {} // cancelled by the client already
        }
      })()
      return new Response(body, {
        headers: {
          'Content-Type': 'text/event-stream',
          'Cache-Control': 'no-cache',
          Connection: 'keep-alive',
        },
      })
    }

    /** One job's events, from its first (or after Last-Event-ID); ends after its final event. */
    app.get('/jobs/:job_id/events', jobEventsDoc, async (c) => {
      const id = c.req.param('job_id')
      const after = lastEventId(c)
      const job = JOB_ID_PATTERN.test(id) ? await deps.store.get(id, viewerOf(c)) : null
      if (!job) throw jobNotFound(id)
      const first = after === undefined ? ((await deps.store.firstEvent(id)) ?? '-') : after
      return eventStream(c, {
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
    app.get('/events', eventsDoc, async (c) => {
      const viewer = viewerOf(c)
      return eventStream(c, {
        wants: (event) => !viewer || viewer.admin || event.client === viewer.client,
        from: lastEventId(c),
      })
    })
  }

  /**
   * The job's webhook delivery attempts, oldest first (the last 100): those at its callback_url,
   * and to admin keys (or anyone, keys off) those at WEBHOOK_URLS, without their secrets.
   */
  app.get('/jobs/:job_id/deliveries', deliveriesDoc, async (c) => {
    const id = c.req.param('job_id')
    await visibleJob(c, id)
    const { redis, client, keys } = deps.store
    const entries = (await redis.call(client.lRange(keys.deliveries(id), 0, -1))).map((entry) =>
      JSON.parse(entry),
    )
    // Only entries written before their target was recorded need the job's callback_url.
    const callbackUrl = entries.some((entry) => entry.target === undefined)
      ? ((await redis.call(client.hGet(keys.job(id), 'callback_url'))) ?? undefined)
      : undefined
    const admin = viewerOf(c)?.admin ?? true
    return c.json({ deliveries: shownDeliveries(entries, { admin, callbackUrl }) })
  })

  app.delete('/jobs/:job_id', deleteJobDoc, async (c) => {
    const id = c.req.param('job_id')
    await visibleJob(c, id)
    const before = await deps.store.delete(id)
    deps.forgetJob?.(id)
    if (before === null) throw jobNotFound(id)
    deps.logger.info('job deleted', { job_id: id, status_before: before })
    return c.body(null, 204)
  })

  app.post('/jobs/:job_id/cancel', cancelJobDoc, async (c) => {
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
  if (keysOn) {
    app.use('/stats', adminOnly)
    app.use('/dlq', adminOnly)
    app.use('/dlq/*', adminOnly)
  }
  app.get('/stats', statsDoc, async (c) => c.json(await deps.store.stats.read(now())))

  /** `?limit=` (1-1000, default 100) entries, oldest first; `?after=<message_id>` for the next page. */
  app.get('/dlq', dlqDoc, async (c) => {
    const limit = Number(c.req.query('limit') ?? 100)
    const after = c.req.query('after')
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new AppError('bad_request', 'limit must be a whole number from 1 to 1000', 400)
    }
    if (after !== undefined && !MESSAGE_ID.test(after)) {
      throw new AppError('bad_request', 'after must be a message_id such as 1700000000000-0', 400)
    }
    return c.json(await deps.store.deadLetters.list(limit, after))
  })

  app.post('/dlq/:message_id/retry', dlqRetryDoc, async (c) => {
    const id = c.req.param('message_id')
    const jobId = MESSAGE_ID.test(id) ? await deps.store.deadLetters.retry(id, now()) : null
    if (!jobId) throw deadLetterNotFound(id)
    deps.forgetJob?.(jobId)
    deps.logger.info('dead-lettered job queued again', { job_id: jobId, message_id: id })
    return c.json(
      {
        job_id: jobId,
        status: 'queued',
        message: 'Job queued for another attempt',
      } satisfies DlqRetryResponse,
      202,
    )
  })

  app.delete('/dlq/:message_id', dlqDeleteDoc, async (c) => {
    const id = c.req.param('message_id')
    if (!MESSAGE_ID.test(id) || !(await deps.store.deadLetters.delete(id))) throw deadLetterNotFound(id)
    deps.logger.info('dead-letter entry discarded', { message_id: id })
    return c.body(null, 204)
  })

  app.get('/healthz', healthzDoc, (c) => redisHealth(c, deps.store.client))
  app.get('/metrics', metricsDoc, metricsAuth(deps.metricsToken), () => metricsResponse(deps.registry))
  if (deps.console) mountConsole(app, { ...deps.console, keysOn, profiles: PROFILE_NAMES })
  mountApiDocs(app, STATUS_API)

  return app
}
