export { createApp, type IngestDeps } from './app.ts'
export { CONFIG_VARIABLES, type IngestConfig, loadConfig } from './config.ts'
export { startIngest } from './main.ts'
