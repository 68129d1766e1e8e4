import { createLogger, serveOnDeno } from '@vpp/shared'
import { closeAll, closeOnSignal, runMain } from '@vpp/shared/node'
import { getConnInfo } from 'hono/deno'
import { loadConfig } from './config.ts'
import { buildIngest } from './main.ts'

// Deno entry point: `npm run start:ingest:deno` (the same variables as the Node one).
await runMain(async () => {
  const config = loadConfig(process.env)
  const logger = createLogger({ service: 'ingest', format: config.LOG_FORMAT, level: config.LOG_LEVEL })
  const { app, close } = await buildIngest(config, logger, (c) => getConnInfo(c).remote.address)
  const server = serveOnDeno(app, { port: config.INGEST_PORT, hostname: config.HOST })
  logger.info('ingest listening', { port: server.port, runtime: 'deno' })
  closeOnSignal(closeAll([() => server.close(), close]), logger)
})
