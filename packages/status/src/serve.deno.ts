import { createLogger, serveOnDeno } from '@vpp/shared'
import { serveStaticDeno } from '@vpp/shared/deno'
import { closeAll, closeOnSignal, runMain } from '@vpp/shared/node'
import { loadConfig } from './config.ts'
import { buildStatus } from './main.ts'

// Deno entry point: `npm run start:status:deno` (the same variables as the Node one). Media bytes:
// `hono/deno`'s serveStatic, with Range on top (serveStaticDeno).
await runMain(async () => {
  const config = loadConfig(process.env)
  const logger = createLogger({ service: 'status', format: config.LOG_FORMAT, level: config.LOG_LEVEL })
  const { app, endStreams, close } = await buildStatus(config, logger, serveStaticDeno)
  const server = serveOnDeno(app, { port: config.STATUS_PORT, hostname: config.HOST })
  logger.info('status listening', { port: server.port, runtime: 'deno' })
  closeOnSignal(closeAll([endStreams, () => server.close(), close]), logger)
})
