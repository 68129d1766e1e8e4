import { createLogger } from '@vpp/shared'
import { closeOnSignal, runMain } from '@vpp/shared/node'
import { loadConfig } from './config.ts'
import { startIngest } from './main.ts'

// Node entry point: `npm run start:ingest`.
await runMain(async () => {
  const config = loadConfig(process.env)
  const logger = createLogger({ service: 'ingest', format: config.LOG_FORMAT, level: config.LOG_LEVEL })
  const service = await startIngest(config, logger)
  closeOnSignal(service.close, logger)
})
