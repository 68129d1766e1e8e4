/**
 * What the transcoder's unit tests share: one redis-server and one temporary folder a test file,
 * and per setting a fresh key prefix with its job store, config (consumer `me`), local storage
 * and metrics. Real processes, no stand-ins (as ingest's test-fixture.ts).
 */
import { join } from 'node:path'
import {
  createLogger,
  createRegistry,
  createTranscoderMetrics,
  type JobStore,
  openJobStore,
} from '@vpp/shared'
import { LocalStorage } from '@vpp/shared/node'
import { startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { afterAll, beforeAll } from 'vitest'
import { loadConfig } from './config.ts'

export const logger = createLogger({ service: 'test', level: 'silent' })

export function useTranscoderFixture() {
  let redis: TestRedis
  let dir: Awaited<ReturnType<typeof tempDir>>
  const stores: JobStore[] = []
  beforeAll(async () => {
    redis = await startTestRedis()
    dir = await tempDir()
  })
  afterAll(async () => {
    for (const store of stores) await store.close()
    await redis?.stop()
    await dir?.remove()
  })
  return {
    /** The redis-server (to crash and restart it). */
    get redis() {
      return redis
    },
    /** A fresh setting: `env` on top of `CONSUMER_NAME=me`. */
    async setting(env: Record<string, string> = {}) {
      const prefix = redis.prefix()
      const store = await openJobStore({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix }, logger)
      stores.push(store)
      const config = loadConfig({ CONSUMER_NAME: 'me', ...env })
      const storage = new LocalStorage(join(dir.path, prefix, 'uploads'), join(dir.path, prefix, 'out'))
      const metrics = createTranscoderMetrics(createRegistry('transcoder'))
      return { store, config, storage, metrics }
    },
  }
}
