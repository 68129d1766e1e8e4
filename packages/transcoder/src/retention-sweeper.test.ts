/**
 * RetentionSweeper against a real redis-server and local storage on disk: one sweeper at a time,
 * the lock's lease, outputs removed only after the job is expired, and again after a failure.
 */
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { closeRedis, createLogger, type JobStore, openJobStore } from '@vpp/shared'
import { LocalStorage } from '@vpp/shared/node'
import { queuedJob, startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from './config.ts'
import { type RetentionDeps, RetentionSweeper } from './retention-sweeper.ts'

const logger = createLogger({ service: 'test', level: 'silent' })
const DAY_MS = 24 * 3600_000
let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
const stores: JobStore[] = []

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
})
afterEach(async () => {
  for (const store of stores.splice(0)) await closeRedis(store.client)
})
afterAll(async () => {
  await redis?.stop()
  await dir?.remove()
})

/** A store on its own connection under `prefix` (as each transcoder has). */
async function openStore(prefix: string): Promise<JobStore> {
  const store = await openJobStore({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix }, logger)
  stores.push(store)
  return store
}

/** A job completed `daysAgo` days ago, with one output file on disk. */
async function completedJob(store: JobStore, storage: LocalStorage, id: string, daysAgo: number) {
  await store.create(queuedJob(id))
  const reply = (await store.client.xReadGroup(
    store.keys.group,
    'c1',
    { key: store.keys.stream, id: '>' },
    { COUNT: 1 },
  )) as Array<{ messages: Array<{ id: string }> }> | null
  const started = await store.start(id, reply?.[0]?.messages[0]?.id ?? '', 'c1', new Date())
  if (!started.started) throw new Error(`${id} not started`)
  const path = join(storage.outputDir, id, '360p.mp4')
  await mkdir(join(storage.outputDir, id), { recursive: true })
  await writeFile(path, 'video')
  const outputs = [
    {
      profile: '360p',
      path,
      width: 640,
      height: 360,
      duration: 1,
      size_bytes: 5,
      bitrate: 40,
      codec: 'h264',
    },
  ]
  await store.finish(started.claim, { status: 'completed', outputs }, new Date(Date.now() - daysAgo * DAY_MS))
}

function sweeper(store: JobStore, storage: RetentionDeps['storage'], leaseMs?: number) {
  return new RetentionSweeper({
    config: { JOB_RETENTION_DAYS: 30, OUTPUT_RETENTION_DAYS: 1, RETENTION_SWEEP_MS: 60_000 },
    store,
    storage,
    logger,
    leaseMs,
  })
}

/**
 * Local storage whose removeOutputs waits until `open()` is called (a slow sweep, held mid-way);
 * `reached` resolves when the first removal is waiting.
 */
function gated(storage: LocalStorage) {
  let open: () => void = () => {}
  let arrived: () => void = () => {}
  const gate = new Promise<void>((resolve) => {
    open = resolve
  })
  const reached = new Promise<void>((resolve) => {
    arrived = resolve
  })
  return {
    open,
    reached,
    storage: {
      removeUpload: (id: string) => storage.removeUpload(id),
      removeOutputFolder: (id: string, folder: string) => storage.removeOutputFolder(id, folder),
      removeOutputs: async (id: string) => {
        arrived()
        await gate
        await storage.removeOutputs(id)
      },
    },
  }
}

async function setup() {
  const prefix = redis.prefix()
  const storage = new LocalStorage(join(dir.path, prefix, 'uploads'), join(dir.path, prefix, 'output'))
  return { prefix, storage, store: await openStore(prefix) }
}

describe('RetentionSweeper', () => {
  it('sweeps on one transcoder at a time: of two started at once, exactly one sweeps', async () => {
    const { prefix, storage, store } = await setup()
    await completedJob(store, storage, 'old', 2)
    await completedJob(store, storage, 'young', 0)
    const held = gated(storage)
    const a = sweeper(store, held.storage)
    const b = sweeper(await openStore(prefix), held.storage)

    const sweeps = [a.sweep(), b.sweep()]
    // The one with the lock waits at the gate, so the first answer is the other's: it skipped.
    expect(await Promise.race(sweeps)).toEqual({ swept: false, records: 0, outputs: 0 })
    await held.reached
    // Held mid-sweep: the job is already expired, its files not yet removed.
    expect(await store.get('old')).toMatchObject({ status: 'expired', outputs: [] })
    expect(existsSync(join(storage.outputDir, 'old'))).toBe(true)
    held.open()
    const results = await Promise.all(sweeps)
    expect(results.filter((r) => r.swept)).toEqual([{ swept: true, records: 0, outputs: 1 }])

    expect(existsSync(join(storage.outputDir, 'old'))).toBe(false)
    expect(existsSync(join(storage.outputDir, 'young'))).toBe(true)
    expect(await store.get('young')).toMatchObject({ status: 'completed' })
    expect(await store.retention.outputsToRemove(10)).toEqual([])
    // Released: the next round is anyone's.
    expect(await store.client.exists(store.keys.lock('retention'))).toBe(0)
    expect((await b.sweep()).swept).toBe(true)
  })

  it('skips while a transcoder that died holds the lock, and sweeps once its lease ran out', async () => {
    const { storage, store } = await setup()
    await completedJob(store, storage, 'old', 2)
    expect(await store.retention.lock(300).acquire()).toBe(true) // its holder never releases it
    const s = sweeper(store, storage)
    expect(await s.sweep()).toEqual({ swept: false, records: 0, outputs: 0 })
    expect(await store.get('old')).toMatchObject({ status: 'completed' })
    await new Promise((resolve) => setTimeout(resolve, 400))
    expect(await s.sweep()).toEqual({ swept: true, records: 0, outputs: 1 })
    expect(existsSync(join(storage.outputDir, 'old'))).toBe(false)
  })

  it('renews its lease while it sweeps, and stops once the lease was lost', async () => {
    const { prefix, storage, store } = await setup()
    for (let i = 0; i < 10; i++) await completedJob(store, storage, `job-${i}`, 2)
    let delayMs = 60
    const slow = {
      removeUpload: (id: string) => storage.removeUpload(id),
      removeOutputFolder: (id: string, folder: string) => storage.removeOutputFolder(id, folder),
      removeOutputs: async (id: string) => {
        await new Promise((resolve) => setTimeout(resolve, delayMs))
        await storage.removeOutputs(id)
      },
    }
    // 10 removals of 60 ms outlast a 400 ms lease: renewed between jobs, it stays this sweep's.
    const other = sweeper(await openStore(prefix), storage, 400)
    const sweep = sweeper(store, slow, 400).sweep()
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect((await other.sweep()).swept).toBe(false)
    expect(await sweep).toEqual({ swept: true, records: 0, outputs: 10 })
    expect(await store.retention.outputsToRemove(10)).toEqual([])

    // One removal outlasting the lease: another sweeper takes the lock meanwhile; this one stops
    // after that job and leaves the new holder's lock alone.
    for (let i = 0; i < 3; i++) await completedJob(store, storage, `late-${i}`, 2)
    delayMs = 800
    const stalled = sweeper(store, slow, 400).sweep()
    await new Promise((resolve) => setTimeout(resolve, 550))
    const next = store.retention.lock(5000)
    expect(await next.acquire()).toBe(true)
    expect(await stalled).toEqual({ swept: true, records: 0, outputs: 3 })
    expect(await store.retention.outputsToRemove(10)).toHaveLength(2)
    expect(await next.release()).toBe(true)
  })

  it('removes the outputs of an expired job on a later sweep when the first removal failed', async () => {
    const { storage, store } = await setup()
    await completedJob(store, storage, 'old', 2)
    let failures = 1
    const flaky = {
      removeUpload: (id: string) => storage.removeUpload(id),
      removeOutputFolder: (id: string, folder: string) => storage.removeOutputFolder(id, folder),
      removeOutputs: async (id: string) => {
        if (failures-- > 0) throw new Error('storage unavailable')
        await storage.removeOutputs(id)
      },
    }
    const s = sweeper(store, flaky)
    expect(await s.sweep()).toEqual({ swept: true, records: 0, outputs: 1 })
    expect(await store.get('old')).toMatchObject({ status: 'expired' })
    expect(existsSync(join(storage.outputDir, 'old'))).toBe(true)
    expect(await store.retention.outputsToRemove(10)).toEqual(['old'])

    expect(await s.sweep()).toEqual({ swept: true, records: 0, outputs: 0 })
    expect(existsSync(join(storage.outputDir, 'old'))).toBe(false)
    expect(await store.retention.outputsToRemove(10)).toEqual([])
  })

  it('stops a sweep under way at close, releases its lock, and sweeps no more', async () => {
    const { storage, store } = await setup()
    await completedJob(store, storage, 'a', 3)
    await completedJob(store, storage, 'b', 2)
    const held = gated(storage)
    const s = sweeper(store, held.storage)
    s.start()
    const sweep = s.sweep()
    await held.reached
    const closed = s.close()
    held.open()
    await closed
    expect(await sweep).toEqual({ swept: true, records: 0, outputs: 2 })
    // Both were expired before the gate; only the one removal under way went on after close.
    const left = ['a', 'b'].filter((id) => existsSync(join(storage.outputDir, id)))
    expect(left).toHaveLength(1)
    expect(await store.retention.outputsToRemove(10)).toEqual(left)
    expect(await store.client.exists(store.keys.lock('retention'))).toBe(0)
    expect(await s.sweep()).toEqual({ swept: false, records: 0, outputs: 0 })
    expect(await s.close()).toBeUndefined() // twice: fine
  })
})

describe('leftovers', () => {
  it('removes the folders a completed job keeps for a while once they are due, and nothing else', async () => {
    const { storage, store } = await setup()
    await completedJob(store, storage, 'streamed', 0)
    const job = join(storage.outputDir, 'streamed')
    for (const folder of ['hls/720p', 'hls/audio']) {
      await mkdir(join(job, folder), { recursive: true })
      await writeFile(join(job, folder, 'c00000-l1-000.m4s'), 'segment')
    }
    await writeFile(join(job, 'hls/720p.m3u8'), 'the stream from now on')
    await store.retention.keepUntil('streamed', ['hls/720p', 'hls/audio'], new Date(Date.now() + 60_000))
    const s = sweeper(store, storage)
    await s.sweep()
    // Not due yet: kept.
    expect(existsSync(join(job, 'hls/720p/c00000-l1-000.m4s'))).toBe(true)
    await store.retention.keepUntil('later', ['hls/360p'], new Date(Date.now() + 60_000))
    await store.retention.keepUntil('streamed', ['hls/720p', 'hls/audio'], new Date(Date.now() - 1))
    await s.sweep()
    expect(existsSync(join(job, 'hls/720p'))).toBe(false)
    expect(existsSync(join(job, 'hls/audio'))).toBe(false)
    expect(existsSync(join(job, 'hls/720p.m3u8'))).toBe(true)
    expect(existsSync(join(job, '360p.mp4'))).toBe(true)
    // Done with: out of the set; the other job's still waits.
    expect(await store.retention.leftoversDue(new Date(Date.now() + 120_000), 10)).toEqual([
      {
        job: 'later',
        folders: ['hls/360p'],
        member: JSON.stringify({ job: 'later', folders: ['hls/360p'] }),
      },
    ])
  })
})

describe('retention variables', () => {
  it('keeps records 30 days and outputs as long as the record by default; takes fractions; refuses 0', () => {
    const defaults = loadConfig({})
    expect(defaults).toMatchObject({ JOB_RETENTION_DAYS: 30, RETENTION_SWEEP_MS: 60_000 })
    expect(defaults.OUTPUT_RETENTION_DAYS).toBeUndefined()
    expect(loadConfig({ JOB_RETENTION_DAYS: '0.5', OUTPUT_RETENTION_DAYS: '7' })).toMatchObject({
      JOB_RETENTION_DAYS: 0.5,
      OUTPUT_RETENTION_DAYS: 7,
    })
    expect(() => loadConfig({ JOB_RETENTION_DAYS: '0' })).toThrow(/JOB_RETENTION_DAYS="0"/)
    expect(() => loadConfig({ OUTPUT_RETENTION_DAYS: 'soon' })).toThrow(/OUTPUT_RETENTION_DAYS/)
  })
})
