import { createLogger, serveOnBun } from '@vpp/shared'
import { closeAll, closeOnSignal, runMain } from '@vpp/shared/node'
import { serveStatic } from 'hono/bun'
import { loadConfig } from './config.ts'
import { buildStatus } from './main.ts'

// Bun entry point: `npm run start:status:bun` (the same variables as the Node one). Media bytes:
// `hono/bun`'s serveStatic, a Bun.file body, whose Range Bun.serve answers itself.
await runMain(async () => {
  const config = loadConfig(process.env)
  const logger = createLogger({ service: 'status', format: config.LOG_FORMAT, level: config.LOG_LEVEL })
  const { app, limits, endStreams, close } = await buildStatus(config, logger, serveStatic)
  const server = serveOnBun(app, { port: config.STATUS_PORT, hostname: config.HOST, limits })
  logger.info('status listening', { port: server.port, runtime: 'bun' })
  closeOnSignal(closeAll([endStreams, () => server.close(), close]), logger)
})
