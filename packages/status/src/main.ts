import {
  closeRedis,
  createRegistry,
  type Logger,
  openJobStore,
  registerQueueGauges,
  type ServerLimits,
} from '@vpp/shared'
import { closeAll, listen, mediaFiles, type RunningService } from '@vpp/shared/node'
import { createApp, type StatusDeps } from './app.ts'
import type { StatusConfig } from './config.ts'

/**
 * The status app wired to Redis, on any runtime. `media`: the runtime's file server for
 * `/media/…` (Node's is `mediaFiles`); without one, the route is not there.
 */
export async function buildStatus(config: StatusConfig, logger: Logger, media?: StatusDeps['media']) {
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
    media,
    publicUrl: config.publicUrl,
    corsOrigins: config.CORS_ORIGINS,
  })
  // Every request is an ordinary one: REQUEST_TIMEOUT_MS bounds each, on every runtime.
  const limits: ServerLimits = { requestTimeoutMs: config.REQUEST_TIMEOUT_MS }
  return { app, limits, close: () => closeRedis(store.client) }
}

/** Node: build the status app and listen on STATUS_PORT. */
export async function startStatus(config: StatusConfig, logger: Logger): Promise<RunningService> {
  const { app, limits, close } = await buildStatus(config, logger, (file) =>
    mediaFiles(config.outputDir, file),
  )
  const server = await listen(app, config.STATUS_PORT, config.HOST, limits)
  logger.info('status listening', { port: server.port, runtime: 'node' })
  return { port: server.port, close: closeAll([() => server.close(), close]) }
}
