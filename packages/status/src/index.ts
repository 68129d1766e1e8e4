export { createApp, type StatusDeps } from './app.ts'
export { CONFIG_VARIABLES, loadConfig, type StatusConfig } from './config.ts'
export { startStatus, startWebhooks } from './main.ts'
