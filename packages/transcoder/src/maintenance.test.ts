/**
 * The transcoder's periodic tasks against a real redis-server and local storage on disk:
 * heartbeats (a claim kept fresh, a lost one stopped), due retries queued, files of deleted jobs
 * and uploads of discarded dead letters removed, idle consumers kept within a day, the timers.
 */
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { JobStore } from '@vpp/shared'
import { queuedJob, takeJob } from '@vpp/shared/testing'
import { describe, expect, it } from 'vitest'
import { newActive } from './active.ts'
import {
  heartbeat,
  Maintenance,
  promoteDue,
  removeDiscardedUploads,
  removeIdleConsumers,
} from './maintenance.ts'
import { logger, useTranscoderFixture } from './test-fixture.ts'

const fixture = useTranscoderFixture()

async function setUp(env: Record<string, string> = {}) {
  const { store, config, storage } = await fixture.setting(env)
  await store.group.ensure()
  const deps = { config, store, storage, logger }
  /** A job queued with its upload and one output on disk, taken by `me`. */
  const running = async (id: string) => {
    await store.create(queuedJob(id))
    await mkdir(dirname(storage.path(id)), { recursive: true })
    await writeFile(storage.path(id), 'upload')
    await mkdir(join(storage.outputDir, id), { recursive: true })
    await writeFile(join(storage.outputDir, id, '360p.mp4'), 'video')
    return takeJob(store, 'me')
  }
  return { store, storage, deps, running }
}

const idleOf = async (store: JobStore, entryId: string) =>
  (await store.client.xPendingRange(store.keys.stream, store.keys.group, entryId, entryId, 1))[0]
    ?.millisecondsSinceLastDelivery ?? -1

describe('heartbeat', () => {
  it('keeps a claim fresh, and stops the work whose claim is lost', async () => {
    const { store, deps, running } = await setUp()
    const kept = await running('kept')
    const lost = await running('lost')
    const activeOf = (claim: typeof kept) =>
      Object.assign(newActive(claim.entryId, store.keys.stream, claim.jobId), { claim })
    const [a, b] = [activeOf(kept), activeOf(lost)]
    await store.delete('lost') // deleted through the API while it ran
    await new Promise((resolve) => setTimeout(resolve, 150))
    expect(await idleOf(store, kept.entryId)).toBeGreaterThanOrEqual(150)
    await heartbeat([a, b], deps)
    expect(await idleOf(store, kept.entryId)).toBeLessThan(100)
    expect(a.lost.signal.aborted || a.stop.signal.aborted).toBe(false)
    expect(b.lost.signal.aborted && b.stop.signal.aborted).toBe(true)
  })
})

describe('promoteDue', () => {
  it('queues a retry whose backoff has elapsed, and only that one', async () => {
    const { store, deps, running } = await setUp()
    const due = await running('due')
    const later = await running('later')
    const now = new Date()
    await store.retryLater(due, 'blip', 'internal', new Date(now.getTime() - 1), now)
    await store.retryLater(later, 'blip', 'internal', new Date(now.getTime() + 60_000), now)
    const queued = async () =>
      (await store.client.xRange(store.keys.stream, '-', '+')).map((e) => e.message.job_id)
    expect(await queued()).toEqual([]) // retryLater settled both entries
    await promoteDue(deps)
    expect(await queued()).toEqual(['due'])
  })
})

describe('removeDiscardedUploads', () => {
  it('removes the files of deleted jobs and the uploads of discarded dead letters', async () => {
    const { store, storage, deps, running } = await setUp({ MAX_ATTEMPTS: '1' })
    await running('deleted')
    const dead = await running('dead')
    await store.finish(dead, { status: 'failed', error: 'broken', code: 'internal' }, new Date())
    await store.delete('deleted')
    const [letter] = (await store.deadLetters.list(10)).entries
    await store.deadLetters.delete(letter?.message_id ?? '')
    expect(existsSync(storage.path('deleted'))).toBe(true)
    expect(existsSync(storage.path('dead'))).toBe(true)
    await removeDiscardedUploads(deps)
    expect(existsSync(storage.path('deleted'))).toBe(false)
    expect(existsSync(join(storage.outputDir, 'deleted'))).toBe(false)
    expect(existsSync(storage.path('dead'))).toBe(false)
    expect(await store.takeDeletedJobs(10)).toEqual([])
  })
})

describe('removeIdleConsumers', () => {
  it('keeps consumers seen within a day', async () => {
    const { store, deps } = await setUp()
    await store.client.xGroupCreateConsumer(store.keys.stream, store.keys.group, 'other')
    await removeIdleConsumers(deps)
    const consumers = await store.client.xInfoConsumers(store.keys.stream, store.keys.group)
    expect(consumers.map((c) => c.name)).toEqual(['other'])
  })
})

describe('Maintenance', () => {
  it('runs its tasks on their timers until stopped', async () => {
    const { store, deps, running } = await setUp({ CLAIM_IDLE_MS: '200', RETRY_BASE_MS: '50' })
    const claim = await running('a')
    const active = Object.assign(newActive(claim.entryId, store.keys.stream, claim.jobId), { claim })
    let watched = 0
    const maintenance = new Maintenance(deps, {
      active: () => [active],
      watchStalled: async () => void watched++,
    })
    maintenance.start()
    await new Promise((resolve) => setTimeout(resolve, 400))
    expect(watched).toBeGreaterThanOrEqual(3) // every 50 ms
    // The heartbeat (every ~66 ms) kept the entry fresh past CLAIM_IDLE_MS.
    expect(await idleOf(store, claim.entryId)).toBeLessThan(200)
    maintenance.stopTimers()
    await maintenance.closeRetention()
    const after = watched
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(watched).toBe(after)
  })
})
