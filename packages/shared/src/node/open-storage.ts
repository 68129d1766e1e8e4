import type { z } from 'zod'
import { ConfigError } from '../api/errors.ts'
import type { Paths, storageConfigShape } from '../config.ts'
import type { MediaStorage } from '../storage/storage.ts'
import { LocalStorage } from './local-storage.ts'
import { S3Storage } from './s3-storage.ts'

export type StorageConfig = z.infer<z.ZodObject<typeof storageConfigShape>>

/** The storage STORAGE_BACKEND names, configured from the S3_* variables when it is `s3`. */
export function openStorage(config: StorageConfig, paths: Paths): LocalStorage | S3Storage {
  if (config.STORAGE_BACKEND === 'local') return new LocalStorage(paths.uploadDir, paths.outputDir)
  if (!config.S3_BUCKET) {
    throw new ConfigError('Invalid configuration: S3_BUCKET is required when STORAGE_BACKEND=s3')
  }
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = config
  return new S3Storage({
    bucket: config.S3_BUCKET,
    region: config.S3_REGION,
    endpoint: config.S3_ENDPOINT,
    forcePathStyle: config.S3_FORCE_PATH_STYLE ?? config.S3_ENDPOINT !== undefined,
    publicUrl: config.S3_PUBLIC_URL,
    credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
    scratchDir: `${paths.dataDir}/work`,
  })
}

/** Release what a storage holds (the S3 client's sockets). */
export function closeStorage(storage: MediaStorage): void {
  if (storage instanceof S3Storage) storage.close()
}
