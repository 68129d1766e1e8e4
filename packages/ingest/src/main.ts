import { closeRedis, createIngestMetrics, createRegistry, type Logger, openJobStore } from '@vpp/shared'
import { closeAll, LocalUploadStorage, listen, type RunningService } from '@vpp/shared/node'
import { createApp } from './app.ts'
import type { IngestConfig } from './config.ts'

/** Wire the ingest app to Redis and local disk, and listen on INGEST_PORT. */
export async function startIngest(config: IngestConfig, logger: Logger): Promise<RunningService> {
  const store = await openJobStore(config, logger)
  const registry = createRegistry('ingest')
  const app = createApp({
    store,
    storage: new LocalUploadStorage(config.uploadDir),
    logger,
    registry,
    metrics: createIngestMetrics(registry),
    maxFileSize: config.MAX_FILE_SIZE,
  })
  const server = await listen(app, config.INGEST_PORT, config.HOST)
  logger.info('ingest listening', { port: server.port, upload_dir: config.uploadDir })
  return {
    port: server.port,
    close: closeAll([() => server.close(), () => closeRedis(store.client)]),
  }
}
