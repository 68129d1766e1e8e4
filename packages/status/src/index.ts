export { createApp, type StatusDeps } from './app.ts'
export { loadConfig, type StatusConfig } from './config.ts'
export { startStatus } from './main.ts'
