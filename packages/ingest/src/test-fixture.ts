import { readdir } from 'node:fs/promises'
import {
  closeRedis,
  connectRedis,
  createIngestMetrics,
  createLogger,
  createRegistry,
  JobStore,
  type RedisClient,
  redisKeys,
} from '@vpp/shared'
import { LocalUploadStorage } from '@vpp/shared/node'
import { startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'

export { MP4_HEAD, mp4Bytes } from '@vpp/shared/testing'

import { afterAll, beforeAll } from 'vitest'
import { createApp, type IngestDeps } from './app.ts'
import { loadConfig } from './config.ts'
import { startIngest } from './main.ts'

/** Largest upload the test apps accept. */
export const MAX = 64 * 1024

/** A multipart form with a `title` field and the file under `field`. */
export function form(name: string, bytes: Uint8Array<ArrayBuffer> | string, field = 'file'): FormData {
  const data = new FormData()
  data.append('title', 'ignored field')
  data.append(field, new Blob([bytes]), name)
  return data
}

/**
 * A real redis-server for the file (started in beforeAll), and a factory of ingest apps, each
 * with its own key prefix and upload directory.
 */
export function useIngestFixture() {
  let redis: TestRedis
  let client: RedisClient
  let dir: Awaited<ReturnType<typeof tempDir>>
  let ids = 0
  beforeAll(async () => {
    redis = await startTestRedis()
    client = await connectRedis(redis.url, createLogger({ service: 'test', level: 'silent' }))
    dir = await tempDir()
  })
  afterAll(async () => {
    await closeRedis(client)
    await redis.stop()
    await dir.remove()
  })

  return {
    get redis() {
      return redis
    },
    get client() {
      return client
    },
    /**
     * The real service (`startIngest`: its config parsed from `env`, Node's HTTP server, the
     * peer address from the socket) on a free loopback port, with a new prefix and data dir.
     */
    async serve(env: Record<string, string> = {}) {
      const prefix = redis.prefix()
      const dataDir = `${dir.path}/${prefix}`
      const service = await startIngest(
        loadConfig({
          REDIS_URL: redis.url,
          REDIS_KEY_PREFIX: prefix,
          DATA_DIR: dataDir,
          HOST: '127.0.0.1',
          INGEST_PORT: '0',
          MAX_FILE_SIZE: String(MAX),
          ...env,
        }),
        createLogger({ service: 'ingest', level: 'silent' }),
      )
      const uploadDir = `${dataDir}/uploads`
      return {
        url: `http://127.0.0.1:${service.port}`,
        store: new JobStore(client, redisKeys(prefix)),
        /** Names in the upload directory (part files and tus's records included). */
        files: () => readdir(uploadDir).catch(() => [] as string[]),
        close: () => service.close(),
      }
    },
    /** A fresh app (new prefix, new upload dir); `overrides` replace any dependency. */
    async makeApp(overrides: Partial<IngestDeps> = {}) {
      const prefix = redis.prefix()
      const store = overrides.store ?? new JobStore(client, redisKeys(prefix))
      if (!overrides.store) await store.group.ensure()
      return testApp(store, `${dir.path}/${prefix}`, overrides, () => ++ids)
    },
  }
}

/** An ingest app on `store`, its uploads in `uploadDir`, with request helpers. */
function testApp(store: JobStore, uploadDir: string, overrides: Partial<IngestDeps>, nextId: () => number) {
  const registry = createRegistry('ingest')
  const app = createApp({
    storage: new LocalUploadStorage(uploadDir),
    logger: createLogger({ service: 'ingest', level: 'silent' }),
    registry,
    metrics: createIngestMetrics(registry),
    maxFileSize: MAX,
    newId: () => `00000000-0000-0000-0000-${String(nextId()).padStart(12, '0')}`,
    ...overrides,
    store,
  })
  return {
    app,
    store,
    uploadDir,
    /** Names in the upload directory (part files included). */
    files: () => readdir(uploadDir).catch(() => [] as string[]),
    upload: (body: FormData | string | ReadableStream, headers: Record<string, string> = {}) =>
      app.request('/upload', { method: 'POST', body, headers, duplex: 'half' } as RequestInit),
    importUrl: (body: unknown, headers: Record<string, string> = {}) =>
      app.request('/upload-url', {
        method: 'POST',
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json', ...headers },
      }),
  }
}
