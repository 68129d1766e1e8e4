import { getConnInfo } from '@hono/node-server/conninfo'
import {
  connectRedis,
  createIngestMetrics,
  createRegistry,
  type Logger,
  openJobStore,
  redisTarget,
  type ServerLimits,
  type UploadStorage,
} from '@vpp/shared'
import {
  closeAll,
  closeStorage,
  listen,
  openStorage,
  type RunningService,
  resolveHostByDns,
} from '@vpp/shared/node'
import type { Context } from 'hono'
import { createApp } from './app.ts'
import type { IngestConfig } from './config.ts'
import { RedisLocker } from './tus/locker.ts'
import { tusStorage } from './tus/storage.ts'

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
  const expiryMs = config.UPLOAD_EXPIRY_HOURS * 3600_000
  // One lock per upload across every replica (a PATCH may reach any of them).
  const locker = new RedisLocker({
    store,
    subscriber: () =>
      connectRedis(redisTarget(config), logger, { commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS }),
    logger,
  })
  const tus = tusStorage(storage, { expiryMs, locker })
  const app = createApp({
    store,
    storage,
    logger,
    registry,
    metrics: createIngestMetrics(registry),
    maxFileSize: config.MAX_FILE_SIZE,
    watermarkMaxBytes: config.WATERMARK_MAX_BYTES,
    watermarkMaxSide: config.WATERMARK_MAX_SIDE,
    watermarkMaxPerKey: config.WATERMARK_MAX_PER_KEY,
    apiKeys: config.API_KEYS,
    metricsToken: config.METRICS_TOKEN,
    adminKeys: config.ADMIN_API_KEYS,
    corsOrigins: config.CORS_ORIGINS,
    minReplicas: config.REDIS_MIN_REPLICAS,
    rateLimitPerMinute: config.RATE_LIMIT_PER_MINUTE,
    uploadIdleTimeoutMs: config.UPLOAD_IDLE_TIMEOUT_MS,
    uploadTimeoutMs: config.UPLOAD_TIMEOUT_MS,
    requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
    allowPrivateUrls: config.URL_IMPORT_ALLOW_PRIVATE,
    trustProxy: config.TRUST_PROXY,
    resolveHost: resolveHostByDns,
    clientAddress,
    tus,
  })
  // Resumable uploads nobody finished within UPLOAD_EXPIRY_HOURS: removed (local files; S3
  // multipart uploads aborted). Every replica sweeps; removing one twice is harmless.
  const sweepExpired = () =>
    tus.datastore.deleteExpired().then(
      (count) => count > 0 && logger.info('expired resumable uploads removed', { count }),
      (error: unknown) => logger.warn('expired upload sweep failed', { error: String(error) }),
    )
  const sweeper = setInterval(sweepExpired, Math.min(3600_000, Math.max(1000, expiryMs / 4)))
  sweeper.unref()
  void sweepExpired()
  // Partial uploads of an ingest that died mid-upload: nothing has written to them for longer
  // than any live upload may stay silent (another replica's uploads in progress are left alone).
  const uploads: UploadStorage = storage
  const swept = await uploads.sweepPartials?.(config.UPLOAD_IDLE_TIMEOUT_MS + config.REQUEST_TIMEOUT_MS)
  if (swept) logger.info('partial uploads removed', { count: swept })
  logger.info('ingest ready', {
    storage: storage.backend,
    upload_dir: storage.backend === 'local' ? config.uploadDir : undefined,
    api_keys: config.API_KEYS.length + config.ADMIN_API_KEYS.length || 'off',
  })
  return {
    app,
    limits: ingestLimits(config),
    close: closeAll([
      async () => clearInterval(sweeper),
      () => locker.close(),
      () => store.close(),
      () => closeStorage(storage),
    ]),
  }
}

/**
 * What ingest's connections are held to on every runtime, under the app's own limits: an
 * ordinary request's REQUEST_TIMEOUT_MS, and an upload's UPLOAD_TIMEOUT_MS in all and
 * UPLOAD_IDLE_TIMEOUT_MS of silence, so honest slow uploads still finish.
 */
function ingestLimits(config: IngestConfig): ServerLimits {
  return {
    requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
    longestRequestMs: config.UPLOAD_TIMEOUT_MS,
    longestSilenceMs: config.UPLOAD_IDLE_TIMEOUT_MS,
  }
}

/** Node: build the ingest app and listen on INGEST_PORT. */
export async function startIngest(config: IngestConfig, logger: Logger): Promise<RunningService> {
  const { app, limits, close } = await buildIngest(config, logger, (c) => getConnInfo(c).remote.address)
  // Node's whole-request timeout (default 5 min) goes past UPLOAD_TIMEOUT_MS, not off: uploads
  // can be long, and the app answers them first; its head timeout is REQUEST_TIMEOUT_MS.
  const server = await listen(app, config.INGEST_PORT, config.HOST, limits)
  logger.info('ingest listening', { port: server.port, runtime: 'node' })
  return { port: server.port, close: closeAll([() => server.close(), close]) }
}
