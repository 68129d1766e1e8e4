import { createLogger } from '@vpp/shared'
import { closeOnSignal, runMain } from '@vpp/shared/node'
import { loadConfig } from './config.ts'
import { startWebhooks } from './main.ts'

// The webhook worker: `npm run start:webhooks` (the status service's variables, WEBHOOK_* among them).
await runMain(async () => {
  const config = loadConfig(process.env)
  const logger = createLogger({ service: 'webhooks', format: config.LOG_FORMAT, level: config.LOG_LEVEL })
  const service = await startWebhooks(config, logger)
  closeOnSignal(service.close, logger)
})
