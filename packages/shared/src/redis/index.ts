export * from './redis.ts'
export * from './redis-keys.ts'
