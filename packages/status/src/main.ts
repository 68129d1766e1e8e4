import { stat } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import {
  addressPolicy,
  connectRedis,
  createRegistry,
  jsonErrorHandler,
  type Logger,
  metricsAuth,
  metricsResponse,
  openJobStore,
  redisHealth,
  redisTarget,
  registerQueueGauges,
  type ServerLimits,
} from '@vpp/shared'
import {
  closeAll,
  closeStorage,
  type FileServer,
  listen,
  mediaFiles,
  openStorage,
  type RunningService,
  S3Media,
  type S3Storage,
} from '@vpp/shared/node'
import { Hono } from 'hono'
import { createApp } from './app.ts'
import type { StatusConfig } from './config.ts'
import { EventHub } from './event-hub.ts'
import { JobFiles } from './job-files.ts'
import { MediaSigner } from './media-token.ts'
import { localOriginals, type Originals, s3Originals } from './originals.ts'
import { Presenter } from './presenter.ts'
import { openReadCache } from './read-cache.ts'
import { ffmpegRender } from './renders/ffmpeg-render.ts'
import { RENDER_TIMEOUT_MS, RENDER_WAIT_MS, RenderService } from './renders/service.ts'
import { createWebhookMetrics, WebhookWorker } from './webhooks.ts'

/** The SSE routes: their answers last as long as the client stays. */
const isEventStream = (path: string) => path === '/events' || /^\/jobs\/[^/]+\/events$/.test(path)

/** What media URLs are made from: the bucket's (S3) and the signer (API keys on). */
function openMedia(config: StatusConfig) {
  const s3 =
    config.STORAGE_BACKEND === 's3'
      ? new S3Media(openStorage(config, config) as S3Storage, {
          presignSeconds: config.S3_PRESIGN_SECONDS,
          presignEndpoint: config.S3_PRESIGN_ENDPOINT,
        })
      : undefined
  const signer = config.MEDIA_SIGNING_SECRET
    ? new MediaSigner(config.MEDIA_SIGNING_SECRET, config.MEDIA_URL_TTL)
    : undefined
  // Caption tracks and renders are written through the same storage the transcoders publish to.
  const files = new JobFiles(s3 ? s3.storage : openStorage(config, config))
  const close = () => {
    s3?.close()
    closeStorage(files.storage)
  }
  return { s3, signer, files, close }
}

/**
 * Where kept uploads are, and their URLs (ORIGINAL_URL_TTL): presigned GETs (S3), or signed
 * `/originals/…` URLs over UPLOAD_DIR (local), signed with MEDIA_SIGNING_SECRET or, without
 * it (API keys off), with a random secret every status process reads from Redis.
 */
async function openOriginals(
  config: StatusConfig,
  s3: S3Media | undefined,
  secret: () => Promise<string>,
  serveStatic?: FileServer,
): Promise<Originals> {
  if (s3) return s3Originals(s3, config.ORIGINAL_URL_TTL)
  const key = config.MEDIA_SIGNING_SECRET ?? (await secret())
  return localOriginals({
    signer: new MediaSigner(key, config.ORIGINAL_URL_TTL, 'vpp-original'),
    publicUrl: config.publicUrl,
    size: (id) =>
      stat(join(config.uploadDir, id)).then(
        (info) => (info.isFile() ? info.size : null),
        () => null,
      ),
    files: (file) => mediaFiles(config.uploadDir, file, serveStatic),
  })
}

/**
 * The status app wired to Redis, on any runtime. `serveStatic`: the runtime's file server, under
 * `mediaFiles` for `/media/…` over OUTPUT_DIR (default: Node's, from `@hono/node-server`). With
 * STORAGE_BACKEND=s3, media come from the bucket instead (S3Media).
 */
export async function buildStatus(config: StatusConfig, logger: Logger, serveStatic?: FileServer) {
  const media = openMedia(config)
  const { s3, signer, files } = media
  const reads = await openReadCache(config, logger)
  const store = await openJobStore(config, logger, { readHash: reads?.readHash }).catch(async (error) => {
    await reads?.close()
    throw error
  })
  const originals = await openOriginals(
    config,
    s3,
    () => store.secrets.get('original_urls'),
    serveStatic,
  ).catch(async (error) => {
    await store.close()
    await reads?.close()
    throw error
  })
  const events = new EventHub(
    store.events,
    () => connectRedis(redisTarget(config), logger, { commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS }),
    logger,
  )
  const registry = createRegistry('status')
  // The queue is one per pipeline, so one service reports it: this one.
  registerQueueGauges(registry, {
    queue: () => store.stats.queueDepth(),
    dlq: () => store.stats.dlqDepth(),
  })
  const app = createApp({
    store,
    logger,
    registry,
    apiKeys: config.API_KEYS,
    metricsToken: config.METRICS_TOKEN,
    requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
    media: s3 ? (file) => s3.files(file) : (file) => mediaFiles(config.outputDir, file, serveStatic),
    directUrl: s3?.directUrl,
    publicUrl: config.publicUrl,
    signer,
    originals,
    files,
    renders: new RenderService(ffmpegRender(files, { timeoutMs: RENDER_TIMEOUT_MS }), {
      concurrency: config.RENDER_CONCURRENCY,
      queue: config.RENDER_QUEUE,
      waitMs: RENDER_WAIT_MS,
      ratePerMinute: config.RENDER_RATE_PER_MINUTE,
      maxPerJob: config.RENDER_MAX_PER_JOB,
    }),
    captions: { maxBytes: config.CAPTIONS_MAX_BYTES, maxTracks: config.MAX_CAPTION_TRACKS },
    adminKeys: config.ADMIN_API_KEYS,
    events,
    keepAliveMs: config.SSE_KEEPALIVE_MS,
    corsOrigins: config.CORS_ORIGINS,
    forgetJob: reads && ((id) => reads.forget(store.keys.job(id))),
    console: config.CONSOLE_ENABLED
      ? { ingestUrl: config.INGEST_PUBLIC_URL, ingestPort: config.INGEST_PORT }
      : undefined,
  })
  // Every request is an ordinary one: REQUEST_TIMEOUT_MS bounds each, on every runtime.
  const limits: ServerLimits = { requestTimeoutMs: config.REQUEST_TIMEOUT_MS, streaming: isEventStream }
  const close = async () => {
    await events.close()
    media.close()
    await store.close()
    await reads?.close()
  }
  // Open event streams end first: a server's close waits for its connections.
  return { app, limits, endStreams: () => events.close(), close }
}

/** Node: build the status app and listen on STATUS_PORT. */
export async function startStatus(config: StatusConfig, logger: Logger): Promise<RunningService> {
  const { app, limits, endStreams, close } = await buildStatus(config, logger)
  const server = await listen(app, config.STATUS_PORT, config.HOST, limits)
  logger.info('status listening', { port: server.port, runtime: 'node' })
  return { port: server.port, close: closeAll([endStreams, () => server.close(), close]) }
}

/**
 * The webhook worker (`npm run start:webhooks`): deliveries of the event log to WEBHOOK_URLS and
 * each job's callback_url, with /metrics and /healthz on WEBHOOK_METRICS_PORT. Its own process
 * (or a part of `npm start`), not a transcoder's: deliveries wait on nobody's ffmpeg, scale apart
 * from transcodes, and the bodies carry jobs exactly as status answers them, media URLs
 * included, which this package makes. Without WEBHOOK_SECRET it sends nothing.
 */
export async function startWebhooks(config: StatusConfig, logger: Logger): Promise<RunningService> {
  const media = openMedia(config)
  const store = await openJobStore(config, logger)
  const registry = createRegistry('webhooks')
  const metrics = createWebhookMetrics(registry)
  const presenter = new Presenter({
    publicUrl: config.publicUrl,
    signer: media.signer,
    directUrl: media.s3?.directUrl,
  })
  const worker = config.WEBHOOK_SECRET
    ? new WebhookWorker(
        store,
        presenter,
        {
          urls: config.WEBHOOK_URLS,
          secret: config.WEBHOOK_SECRET,
          events: config.WEBHOOK_EVENTS,
          timeoutMs: config.WEBHOOK_TIMEOUT_MS,
          schedule: config.WEBHOOK_RETRY_SCHEDULE,
          concurrency: config.WEBHOOK_CONCURRENCY,
          allowed: addressPolicy(config.URL_IMPORT_ALLOW_PRIVATE),
          consumer: `${hostname()}-${process.pid}`,
        },
        logger,
        metrics,
        () =>
          connectRedis(redisTarget(config), logger, { commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS }),
      )
    : undefined
  if (worker) await worker.start()
  else logger.warn('webhooks off: WEBHOOK_SECRET is not set')
  const app = new Hono()
  app.onError(jsonErrorHandler(logger))
  app.get('/healthz', (c) => redisHealth(c, store))
  app.get('/metrics', metricsAuth(config.METRICS_TOKEN), () => metricsResponse(registry))
  const server = await listen(app, config.WEBHOOK_METRICS_PORT, config.HOST, {
    requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
  })
  logger.info('webhooks listening', {
    port: server.port,
    targets: config.WEBHOOK_URLS.length,
    on: Boolean(worker),
  })
  return {
    port: server.port,
    close: closeAll([
      () => server.close(),
      async () => worker?.close(),
      async () => media.close(),
      () => store.close(),
    ]),
  }
}
