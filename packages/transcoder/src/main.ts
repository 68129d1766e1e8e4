import {
  createHttpMetrics,
  createRegistry,
  createTranscoderMetrics,
  jsonErrorHandler,
  jsonNotFound,
  type Logger,
  metricsAuth,
  metricsResponse,
  observeRequests,
  openJobStore,
  redisHealth,
} from '@vpp/shared'
import { closeAll, closeStorage, listen, openStorage, type RunningService } from '@vpp/shared/node'
import { Hono } from 'hono'
import type { TranscoderConfig } from './config.ts'
import { Transcoder } from './worker.ts'

/**
 * Start a transcoder: the stream consumer plus /metrics and /healthz on TRANSCODER_METRICS_PORT
 * (503 `{ status: 'unhealthy', reason, since }` while it stands down as sick).
 */
export async function startTranscoder(config: TranscoderConfig, logger: Logger): Promise<RunningService> {
  // With sentinels, one connection of the pool is leased for good by the blocking reader.
  const store = await openJobStore(config, logger, { dlqMaxLen: config.DLQ_MAXLEN, poolSize: 2 })
  const storage = openStorage(config, config)
  const registry = createRegistry('transcoder')
  const transcoder = new Transcoder({
    config,
    store,
    storage,
    logger,
    metrics: createTranscoderMetrics(registry),
  })
  await transcoder.start()

  const app = new Hono()
  app.onError(jsonErrorHandler(logger))
  app.notFound(jsonNotFound)
  app.use(observeRequests(logger, createHttpMetrics(registry)))
  // 503 with the reason while it stands down as sick (disk full, ...); else Redis's answer.
  app.get('/healthz', (c) => {
    const sick = transcoder.sick
    if (!sick) return redisHealth(c, store)
    return c.json({ status: 'unhealthy', reason: sick.reason, since: sick.since.toISOString() }, 503)
  })
  app.get('/metrics', metricsAuth(config.METRICS_TOKEN), () => metricsResponse(registry))
  const server = await listen(app, config.TRANSCODER_METRICS_PORT, config.HOST)
  logger.info('transcoder started', {
    consumer: config.consumerName,
    concurrency: config.WORKER_CONCURRENCY,
    metrics_port: server.port,
    storage: storage.backend,
    output_dir: storage.backend === 'local' ? config.outputDir : undefined,
    job_retention_days: config.JOB_RETENTION_DAYS,
    output_retention_days: config.OUTPUT_RETENTION_DAYS,
  })
  return {
    port: server.port,
    close: closeAll([
      () => transcoder.close(),
      () => server.close(),
      () => store.close(),
      () => closeStorage(storage),
    ]),
  }
}
