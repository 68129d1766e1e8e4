/**
 * `npm start`: ingest (8000), status (8001), one transcoder (metrics on 9100) and the webhook
 * worker (metrics on 9200) in one process,
 * for local use. Without REDIS_URL it starts a private redis-server (append-only file under
 * DATA_DIR/redis, a free loopback port) and stops it on exit.
 */
import { loadConfig as ingestConfig, startIngest } from '@vpp/ingest'
import { createLogger, parseEnv, resolvePaths } from '@vpp/shared'
import {
  closeAll,
  closeOnSignal,
  commandExists,
  installHint,
  type RunningService,
  runMain,
  startRedisServer,
} from '@vpp/shared/node'
import { startStatus, startWebhooks, loadConfig as statusConfig } from '@vpp/status'
import { startTranscoder, loadConfig as transcoderConfig } from '@vpp/transcoder'
import { z } from 'zod'

await runMain(async () => {
  const env = { ...process.env }
  // Parse every service's variables before starting anything, so a bad value stops us cleanly.
  const transcoder = transcoderConfig(env)
  ingestConfig(env)
  statusConfig(env)
  /** fsync policy of the private redis-server's append-only file (see docs/architecture.md, "Durability"). */
  const { REDIS_APPENDFSYNC } = parseEnv(
    { REDIS_APPENDFSYNC: z.enum(['everysec', 'always']).default('everysec') },
    env,
  )
  if (!commandExists(transcoder.FFMPEG_PATH) || !commandExists(transcoder.FFPROBE_PATH)) {
    throw new Error(installHint('ffmpeg'))
  }
  const logger = createLogger({
    service: 'pipeline',
    format: transcoder.LOG_FORMAT,
    level: transcoder.LOG_LEVEL,
  })
  const log = (service: string) =>
    createLogger({ service, format: transcoder.LOG_FORMAT, level: transcoder.LOG_LEVEL })

  const steps: Array<() => Promise<void>> = []
  const stopAll = () => closeAll(steps.reverse())()
  try {
    if (!env.REDIS_URL) {
      if (!commandExists('redis-server', '--version')) throw new Error(installHint('redis-server'))
      const dir = `${resolvePaths(transcoder).dataDir}/redis`
      const redis = await startRedisServer({ dir, persistent: true, appendfsync: REDIS_APPENDFSYNC })
      steps.push(() => redis.stop())
      env.REDIS_URL = redis.url
      logger.info('started a private redis-server', { url: redis.url, dir })
    }
    const services: RunningService[] = []
    for (const start of [
      () => startIngest(ingestConfig(env), log('ingest')),
      () => startStatus(statusConfig(env), log('status')),
      () => startTranscoder(transcoderConfig(env), log('transcoder')),
      () => startWebhooks(statusConfig(env), log('webhooks')),
    ]) {
      const service = await start()
      services.push(service)
      steps.push(() => service.close())
    }
    logger.info('pipeline ready', {
      ingest: services[0]?.port,
      status: services[1]?.port,
      transcoder_metrics: services[2]?.port,
      webhooks_metrics: services[3]?.port,
    })
  } catch (error) {
    await stopAll().catch(() => {})
    throw error
  }
  closeOnSignal(stopAll, logger)
})
