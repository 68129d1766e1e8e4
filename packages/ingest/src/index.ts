export { createApp, type IngestDeps } from './app.ts'
export { type IngestConfig, loadConfig } from './config.ts'
export { startIngest } from './main.ts'
