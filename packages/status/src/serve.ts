import { createLogger } from '@vpp/shared'
import { closeOnSignal, runMain } from '@vpp/shared/node'
import { loadConfig } from './config.ts'
import { startStatus } from './main.ts'

// Node entry point: `npm run start:status`.
await runMain(async () => {
  const config = loadConfig(process.env)
  const logger = createLogger({ service: 'status', format: config.LOG_FORMAT, level: config.LOG_LEVEL })
  const service = await startStatus(config, logger)
  closeOnSignal(service.close, logger)
})
