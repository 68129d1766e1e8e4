/**
 * The Transcoder's loop and slots against a real redis-server, its jobs run by a `process` of
 * the test's own (the queue benchmark's seam; ffmpeg's runs: test/*.test.ts): no more than
 * WORKER_CONCURRENCY at once, every job completed in Redis, a cancel stopping a running job,
 * standing down when sick and taking jobs again once the probe passes, and close() draining.
 */
import { join } from 'node:path'
import {
  closeRedis,
  createLogger,
  createRegistry,
  createTranscoderMetrics,
  diskFull,
  type Job,
  type JobStore,
  openJobStore,
} from '@vpp/shared'
import { LocalStorage } from '@vpp/shared/node'
import { queuedJob, startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from './config.ts'
import type { InfraFailure } from './health.ts'
import type { JobContext } from './process-job.ts'
import { Transcoder } from './worker.ts'

const logger = createLogger({ service: 'test', level: 'silent' })
let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
const stores: JobStore[] = []

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
})
afterAll(async () => {
  for (const store of stores) await closeRedis(store.client)
  await redis?.stop()
  await dir?.remove()
})

const until = async (check: () => boolean | Promise<boolean>, ms = 10_000) => {
  for (const end = Date.now() + ms; !(await check()); ) {
    if (Date.now() > end) throw new Error('timed out waiting')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

type Process = (job: Job, ctx: JobContext) => Promise<{ outputs: []; skipped: [] }>

async function transcoder(
  process: Process,
  env: Record<string, string> = {},
  probe?: () => Promise<InfraFailure | null>,
) {
  const prefix = redis.prefix()
  const store = await openJobStore({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix }, logger)
  stores.push(store)
  const config = loadConfig({ CONSUMER_NAME: 'me', WORKER_CONCURRENCY: '2', CLAIM_IDLE_MS: '2000', ...env })
  const storage = new LocalStorage(join(dir.path, prefix, 'uploads'), join(dir.path, prefix, 'out'))
  const metrics = createTranscoderMetrics(createRegistry('transcoder'))
  const t = new Transcoder({ config, store, storage, logger, metrics, process, ...(probe ? { probe } : {}) })
  await t.start()
  const status = async (id: string) => (await store.get(id))?.status
  return { t, store, status }
}

describe('Transcoder', () => {
  it('runs at most WORKER_CONCURRENCY jobs at once, and completes every one', async () => {
    let running = 0
    let most = 0
    const { t, store, status } = await transcoder(async () => {
      most = Math.max(most, ++running)
      await new Promise((resolve) => setTimeout(resolve, 50))
      running--
      return { outputs: [], skipped: [] }
    })
    const ids = Array.from({ length: 7 }, (_, i) => `j${i}`)
    for (const id of ids) await store.create(queuedJob(id))
    await until(async () => (await Promise.all(ids.map(status))).every((s) => s === 'completed'))
    expect(most).toBe(2)
    expect(t.activeJobs).toBe(0)
    await t.close()
    await t.close() // safe twice
  })

  it('stops a running job canceled through the API, recording nothing', async () => {
    let stopped = false
    const { t, store, status } = await transcoder(async (_job, ctx) => {
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()))
      stopped = true
      throw new Error('killed')
    })
    await store.create(queuedJob('a'))
    await until(async () => (await status('a')) === 'processing')
    await until(() => t.activeJobs === 1)
    await store.cancel('a', new Date())
    await until(() => stopped)
    await until(() => t.activeJobs === 0)
    expect(await store.get('a')).toMatchObject({ status: 'canceled' })
    await t.close()
  })

  it('stands down when sick (the job handed back uncounted), and takes jobs again once the probe passes', async () => {
    let full = true
    let runs = 0
    const { t, store, status } = await transcoder(
      async () => {
        runs++
        if (full) throw diskFull('output volume (OUTPUT_DIR)')
        return { outputs: [], skipped: [] }
      },
      { SICK_AFTER_FAILURES: '1', SICK_RETRY_MS: '100', WORKER_CONCURRENCY: '1' },
      async () => (full ? { kind: 'disk_full', reason: 'still full' } : null),
    )
    await store.create(queuedJob('a'))
    await until(() => t.sick !== null)
    await until(async () => (await store.get('a'))?.status === 'queued')
    expect(await store.get('a')).toMatchObject({ attempts: 0 })
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(runs).toBe(1) // nothing read while sick
    expect(await status('a')).toBe('queued')
    full = false
    await until(async () => (await status('a')) === 'completed')
    expect(t.sick).toBeNull()
    await t.close()
  })

  it('lets running jobs finish within SHUTDOWN_GRACE_MS, then stops them and leaves them pending', async () => {
    let release: () => void = () => {}
    const { t, store, status } = await transcoder(
      async (_job, ctx) => {
        await new Promise<void>((resolve) => {
          release = resolve
          ctx.signal.addEventListener('abort', () => resolve())
        })
        if (ctx.signal.aborted) throw new Error('killed')
        return { outputs: [], skipped: [] }
      },
      { SHUTDOWN_GRACE_MS: '200' },
    )
    await store.create(queuedJob('finishes'))
    await until(() => t.activeJobs === 1)
    const closing = t.close()
    await new Promise((resolve) => setTimeout(resolve, 50))
    release()
    await closing
    expect(await status('finishes')).toBe('completed')

    const second = await transcoder(
      async (_job, ctx) => {
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()))
        throw new Error('killed')
      },
      { SHUTDOWN_GRACE_MS: '200' },
    )
    await second.store.create(queuedJob('stopped'))
    await until(() => second.t.activeJobs === 1)
    const began = Date.now()
    await second.t.close()
    expect(Date.now() - began).toBeGreaterThanOrEqual(190)
    // Left pending (unacknowledged) for another transcoder, its attempt not recorded.
    expect(await second.status('stopped')).toBe('processing')
    const pending = await second.store.client.xPending(second.store.keys.stream, second.store.keys.group)
    expect(pending.pending).toBe(1)
  })
})
