import {
  closeRedis,
  connectRedis,
  createRegistry,
  type Logger,
  openJobStore,
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
import { createApp } from './app.ts'
import type { StatusConfig } from './config.ts'
import { EventHub } from './event-hub.ts'
import { MediaSigner } from './media-token.ts'

/** The SSE routes: their answers last as long as the client stays. */
const isEventStream = (path: string) => path === '/events' || /^\/jobs\/[^/]+\/events$/.test(path)

/**
 * The status app wired to Redis, on any runtime. `serveStatic`: the runtime's file server, under
 * `mediaFiles` for `/media/…` over OUTPUT_DIR (default: Node's, from `@hono/node-server`). With
 * STORAGE_BACKEND=s3, media come from the bucket instead (S3Media).
 */
export async function buildStatus(config: StatusConfig, logger: Logger, serveStatic?: FileServer) {
  const s3 =
    config.STORAGE_BACKEND === 's3'
      ? new S3Media(openStorage(config, config) as S3Storage, {
          presignSeconds: config.S3_PRESIGN_SECONDS,
          presignEndpoint: config.S3_PRESIGN_ENDPOINT,
        })
      : undefined
  const store = await openJobStore(config, logger)
  const events = new EventHub(
    store.events,
    () => connectRedis(config.REDIS_URL, logger, { commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS }),
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
    requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
    media: s3 ? (file) => s3.files(file) : (file) => mediaFiles(config.outputDir, file, serveStatic),
    directUrl: s3?.directUrl,
    publicUrl: config.publicUrl,
    signer: config.MEDIA_SIGNING_SECRET
      ? new MediaSigner(config.MEDIA_SIGNING_SECRET, config.MEDIA_URL_TTL)
      : undefined,
    adminKeys: config.ADMIN_API_KEYS,
    events,
    keepAliveMs: config.SSE_KEEPALIVE_MS,
    corsOrigins: config.CORS_ORIGINS,
  })
  // Every request is an ordinary one: REQUEST_TIMEOUT_MS bounds each, on every runtime.
  const limits: ServerLimits = { requestTimeoutMs: config.REQUEST_TIMEOUT_MS, streaming: isEventStream }
  const close = async () => {
    await events.close()
    s3?.close()
    if (s3) closeStorage(s3.storage)
    await closeRedis(store.client)
  }
  return { app, limits, close }
}

/** Node: build the status app and listen on STATUS_PORT. */
export async function startStatus(config: StatusConfig, logger: Logger): Promise<RunningService> {
  const { app, limits, close } = await buildStatus(config, logger)
  const server = await listen(app, config.STATUS_PORT, config.HOST, limits)
  logger.info('status listening', { port: server.port, runtime: 'node' })
  return { port: server.port, close: closeAll([() => server.close(), close]) }
}
