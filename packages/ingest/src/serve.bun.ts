import { createLogger, serveOnBun } from '@vpp/shared'
import { closeAll, closeOnSignal, runMain } from '@vpp/shared/node'
import { getConnInfo } from 'hono/bun'
import { loadConfig } from './config.ts'
import { isUpload } from './limits.ts'
import { buildIngest } from './main.ts'

// Bun entry point: `npm run start:ingest:bun` (the same variables as the Node one).
await runMain(async () => {
  const config = loadConfig(process.env)
  const logger = createLogger({ service: 'ingest', format: config.LOG_FORMAT, level: config.LOG_LEVEL })
  const { app, limits, close } = await buildIngest(config, logger, (c) => getConnInfo(c).remote.address)
  const server = serveOnBun(app, {
    port: config.INGEST_PORT,
    hostname: config.HOST,
    maxBodyBytes: config.MAX_FILE_SIZE + 1024 * 1024,
    limits,
    untimed: isUpload,
  })
  logger.info('ingest listening', { port: server.port, runtime: 'bun' })
  closeOnSignal(closeAll([() => server.close(), close]), logger)
})
