import { getConnInfo } from '@hono/node-server/conninfo'
import { closeRedis, createIngestMetrics, createRegistry, type Logger, openJobStore } from '@vpp/shared'
import {
  closeAll,
  closeStorage,
  listen,
  openStorage,
  type RunningService,
  resolveHost,
} from '@vpp/shared/node'
import type { Context } from 'hono'
import { createApp } from './app.ts'
import type { IngestConfig } from './config.ts'

/**
 * The ingest app wired to Redis and storage, on any runtime: `clientAddress` is the runtime's
 * way to name a request's peer (its hono conninfo helper).
 */
export async function buildIngest(
  config: IngestConfig,
  logger: Logger,
  clientAddress: (c: Context) => string | undefined,
) {
  const store = await openJobStore(config, logger)
  const storage = openStorage(config, config)
  const registry = createRegistry('ingest')
  const app = createApp({
    store,
    storage,
    logger,
    registry,
    metrics: createIngestMetrics(registry),
    maxFileSize: config.MAX_FILE_SIZE,
    apiKeys: config.API_KEYS,
    rateLimitPerMinute: config.RATE_LIMIT_PER_MINUTE,
    uploadIdleTimeoutMs: config.UPLOAD_IDLE_TIMEOUT_MS,
    uploadTimeoutMs: config.UPLOAD_TIMEOUT_MS,
    allowPrivateUrls: config.URL_IMPORT_ALLOW_PRIVATE,
    resolveHost,
    clientAddress,
  })
  logger.info('ingest ready', {
    storage: storage.backend,
    upload_dir: storage.backend === 'local' ? config.uploadDir : undefined,
    api_keys: config.API_KEYS.length > 0 ? config.API_KEYS.length : 'off',
  })
  return { app, close: closeAll([() => closeRedis(store.client), () => closeStorage(storage)]) }
}

/** Node: build the ingest app and listen on INGEST_PORT. */
export async function startIngest(config: IngestConfig, logger: Logger): Promise<RunningService> {
  const { app, close } = await buildIngest(config, logger, (c) => getConnInfo(c).remote.address)
  // Node's own whole-request timeout (5 min) would cut long uploads; the app times uploads itself.
  const server = await listen(app, config.INGEST_PORT, config.HOST, { requestTimeout: 0 })
  logger.info('ingest listening', { port: server.port, runtime: 'node' })
  return { port: server.port, close: closeAll([() => server.close(), close]) }
}
