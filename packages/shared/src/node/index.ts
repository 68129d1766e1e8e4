export * from './executables.ts'
export * from './local-storage.ts'
export * from './redis-server.ts'
export * from './serve.ts'
