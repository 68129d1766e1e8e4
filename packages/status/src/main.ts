import { closeRedis, createRegistry, type Logger, openJobStore, registerQueueGauges } from '@vpp/shared'
import { closeAll, listen, type RunningService } from '@vpp/shared/node'
import { createApp } from './app.ts'
import type { StatusConfig } from './config.ts'

/** Wire the status app to Redis and listen on STATUS_PORT. */
export async function startStatus(config: StatusConfig, logger: Logger): Promise<RunningService> {
  const store = await openJobStore(config, logger)
  const registry = createRegistry('status')
  // The queue is one per pipeline, so one service reports it: this one.
  registerQueueGauges(registry, {
    queue: () => store.queueDepth(),
    dlq: () => store.client.xLen(store.keys.dlq),
  })
  const server = await listen(
    createApp({ store, logger, registry, apiKeys: config.API_KEYS }),
    config.STATUS_PORT,
    config.HOST,
  )
  logger.info('status listening', { port: server.port })
  return {
    port: server.port,
    close: closeAll([() => server.close(), () => closeRedis(store.client)]),
  }
}
