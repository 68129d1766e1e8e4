export * from './make-clip.ts'
export * from './redis.ts'
