import { queuedJob, takeJob } from '@vpp/shared/testing'
import { describe, expect, it } from 'vitest'
import { newActive } from '../active.ts'
import { SickState } from '../sick-state.ts'
import { logger, useTranscoderFixture } from '../test-fixture.ts'
import { runChunkItem } from './worker-items.ts'

const fixture = useTranscoderFixture()

/** Job `a` taken and planned in two items; `entry()` reads the first item's entry as `consumer`. */
async function setUp(env: Record<string, string> = {}) {
  const { store, config, storage, metrics } = await fixture.setting({ SICK_AFTER_FAILURES: '1', ...env })
  await store.group.ensure()
  const sick = new SickState({ config, logger, metrics, probe: async () => null })
  await store.create(queuedJob('a'))
  const claim = await takeJob(store, 'me')
  await store.chunks.plan(claim, '{}', [
    { name: 'v0', first: true },
    { name: 'v1', first: false },
  ])
  const entry = async (consumer = 'me') => {
    const reply = (await store.client.xReadGroup(
      store.keys.group,
      consumer,
      { key: store.keys.chunksFirst, id: '>' },
      { COUNT: 1 },
    )) as Array<{ messages: Array<{ id: string; message: Record<string, string> }> }> | null
    const message = reply?.[0]?.messages[0]
    if (!message) throw new Error('no chunk entry')
    return newActive(message.id, store.keys.chunksFirst, message.message.job_id ?? '')
  }
  const deps = { config, store, storage, logger, metrics, sick, killing: new AbortController().signal }
  const item = async () => (await store.chunks.read('a'))?.items.find((i) => i.name === 'v0')
  const counted = async () =>
    (await metrics.chunks.get()).values.filter((v) => v.value > 0).map((v) => [v.labels.status, v.value])
  return { store, sick, deps, entry, item, counted }
}

describe('runChunkItem', () => {
  it('returns the item uncounted when the transcoder is sick', async () => {
    const t = await setUp()
    t.sick.failed({ kind: 'disk_full', reason: 'disk full' })
    const active = await t.entry()
    await runChunkItem(active, 'v0', t.deps)
    expect(await t.item()).toMatchObject({ state: 'retrying', attempts: 0, code: 'transcoder_unhealthy' })
    t.sick.close()
  })

  it('fails an item taken over past MAX_ATTEMPTS as worker_lost', async () => {
    const t = await setUp({ MAX_ATTEMPTS: '1' })
    const active = await t.entry('dead')
    // The dead transcoder had started it; this one takes the entry over.
    expect(await t.store.chunks.start('a', 'v0', active.stream, active.entryId, 'dead')).toMatchObject({
      started: true,
    })
    await t.store.client.xClaim(active.stream, t.store.keys.group, 'me', 0, active.entryId)
    await runChunkItem(active, 'v0', t.deps)
    expect(await t.item()).toMatchObject({ state: 'failed', code: 'worker_lost' })
    expect(await t.counted()).toContainEqual(['failed', 1])
  })

  it('settles an entry whose job is gone without work', async () => {
    const t = await setUp()
    const active = await t.entry()
    await t.store.delete('a')
    await runChunkItem(active, 'v0', t.deps)
    expect(await t.store.chunks.read('a')).toBeNull()
    expect(await t.counted()).toEqual([])
    expect(active.chunk).toBeUndefined()
    // Settled: acknowledged, pending for nobody.
    expect((await t.store.client.xPending(active.stream, t.store.keys.group)).pending).toBe(0)
  })

  it('retries an item whose run failed, with a backoff', async () => {
    const t = await setUp({ MAX_ATTEMPTS: '3' })
    const active = await t.entry()
    await runChunkItem(active, 'v0', t.deps) // '{}' is no plan: the run fails
    expect(await t.item()).toMatchObject({ state: 'retrying', attempts: 1 })
    expect(await t.counted()).toContainEqual(['retrying', 1])
    expect(active.chunk?.item).toBe('v0')
  })
})
