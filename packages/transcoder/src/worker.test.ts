import { diskFull, type Job } from '@vpp/shared'
import { queuedJob } from '@vpp/shared/testing'
import { describe, expect, it } from 'vitest'
import type { InfraFailure } from './health.ts'
import type { JobContext } from './process-job.ts'
import { logger, useTranscoderFixture } from './test-fixture.ts'
import { Transcoder } from './worker.ts'

const fixture = useTranscoderFixture()

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
  const { store, config, storage, metrics } = await fixture.setting({
    WORKER_CONCURRENCY: '2',
    CLAIM_IDLE_MS: '2000',
    ...env,
  })
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
