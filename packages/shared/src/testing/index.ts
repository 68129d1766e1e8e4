export * from './make-clip.ts'
export * from './media-bytes.ts'
export * from './redis.ts'
export * from './s3.ts'
