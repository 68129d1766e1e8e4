import { closeRedis, createRegistry, type Logger, openJobStore, registerQueueGauges } from '@vpp/shared'
import { closeAll, listen, type RunningService } from '@vpp/shared/node'
import { createApp } from './app.ts'
import type { StatusConfig } from './config.ts'

/** The status app wired to Redis, on any runtime. */
export async function buildStatus(config: StatusConfig, logger: Logger) {
  const store = await openJobStore(config, logger)
  const registry = createRegistry('status')
  // The queue is one per pipeline, so one service reports it: this one.
  registerQueueGauges(registry, {
    queue: () => store.queueDepth(),
    dlq: () => store.client.xLen(store.keys.dlq),
  })
  const app = createApp({ store, logger, registry, apiKeys: config.API_KEYS })
  return { app, close: () => closeRedis(store.client) }
}

/** Node: build the status app and listen on STATUS_PORT. */
export async function startStatus(config: StatusConfig, logger: Logger): Promise<RunningService> {
  const { app, close } = await buildStatus(config, logger)
  const server = await listen(app, config.STATUS_PORT, config.HOST)
  logger.info('status listening', { port: server.port, runtime: 'node' })
  return { port: server.port, close: closeAll([() => server.close(), close]) }
}
