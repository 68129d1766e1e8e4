import {
  closeRedis,
  createRegistry,
  type Logger,
  openJobStore,
  registerQueueGauges,
  type ServerLimits,
} from '@vpp/shared'
import { closeAll, type FileServer, listen, mediaFiles, type RunningService } from '@vpp/shared/node'
import { createApp } from './app.ts'
import type { StatusConfig } from './config.ts'

/**
 * The status app wired to Redis, on any runtime. `serveStatic`: the runtime's file server, under
 * `mediaFiles` for `/media/…` (default: Node's, from `@hono/node-server`).
 */
export async function buildStatus(config: StatusConfig, logger: Logger, serveStatic?: FileServer) {
  const store = await openJobStore(config, logger)
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
    // Files in OUTPUT_DIR (local storage); S3 outputs keep the URL storage made for them.
    media: (file) => mediaFiles(config.outputDir, file, serveStatic),
    publicUrl: config.publicUrl,
    corsOrigins: config.CORS_ORIGINS,
  })
  // Every request is an ordinary one: REQUEST_TIMEOUT_MS bounds each, on every runtime.
  const limits: ServerLimits = { requestTimeoutMs: config.REQUEST_TIMEOUT_MS }
  return { app, limits, close: () => closeRedis(store.client) }
}

/** Node: build the status app and listen on STATUS_PORT. */
export async function startStatus(config: StatusConfig, logger: Logger): Promise<RunningService> {
  const { app, limits, close } = await buildStatus(config, logger)
  const server = await listen(app, config.STATUS_PORT, config.HOST, limits)
  logger.info('status listening', { port: server.port, runtime: 'node' })
  return { port: server.port, close: closeAll([() => server.close(), close]) }
}
