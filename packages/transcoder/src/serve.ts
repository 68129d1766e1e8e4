import { createLogger } from '@vpp/shared'
import { closeOnSignal, commandExists, installHint, runMain } from '@vpp/shared/node'
import { loadConfig } from './config.ts'
import { startTranscoder } from './main.ts'

// Node entry point: `npm run start:transcoder`.
await runMain(async () => {
  const config = loadConfig(process.env)
  if (!commandExists(config.FFMPEG_PATH) || !commandExists(config.FFPROBE_PATH))
    throw new Error(installHint('ffmpeg'))
  const logger = createLogger({ service: 'transcoder', format: config.LOG_FORMAT, level: config.LOG_LEVEL })
  const service = await startTranscoder(config, logger)
  closeOnSignal(service.close, logger)
})
