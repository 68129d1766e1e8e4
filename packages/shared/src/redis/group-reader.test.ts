/**
 * GroupReader against a real redis-server: priority order across streams, no more entries taken
 * than there is room for (the rest held), takeovers of a dead consumer's entries, entries deleted
 * while pending, a group lost with Redis's data made again, and a stalled entry seen while full.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../logger.ts'
import { startTestRedis, type TestRedis } from '../testing/redis.ts'
import { type GroupEntry, GroupReader, type GroupReaderOptions } from './group-reader.ts'
import { blockingConnection, closeRedis, connectRedis, type RedisClient } from './redis.ts'
import { RedisCalls } from './redis-calls.ts'

const logger = createLogger({ service: 'test', level: 'silent' })
let redis: TestRedis
let client: RedisClient

beforeAll(async () => {
  redis = await startTestRedis()
  client = await connectRedis(redis.url, logger)
})
afterAll(async () => {
  await closeRedis(client)
  await redis.stop()
})

const until = async (check: () => boolean, ms = 5000) => {
  for (const end = Date.now() + ms; !check(); ) {
    if (Date.now() > end) throw new Error('timed out waiting')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

const untilAsync = async (check: () => Promise<boolean>, ms = 5000) => {
  for (const end = Date.now() + ms; !(await check()); ) {
    if (Date.now() > end) throw new Error('timed out waiting')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** A reader on fresh streams under a new prefix, its group made; `stop()` ends it. */
async function reader(streamCount: number, options: Partial<GroupReaderOptions> = {}) {
  const prefix = redis.prefix()
  const streams = Array.from({ length: streamCount }, (_, i) => `${prefix}:s${i}`)
  const blocking = await blockingConnection(client, 100, logger)
  const stopping = new AbortController()
  const seen: Array<GroupEntry & { claimed: boolean }> = []
  const group = new GroupReader({
    redis: new RedisCalls(client, 5000),
    reader: blocking.client,
    group: 'g',
    consumer: 'me',
    streams,
    blockMs: 100,
    claimIdleMs: 60_000,
    claimEveryMs: 60_000,
    signal: stopping.signal,
    onEntry: (entry, claimed) => void seen.push({ ...entry, claimed }),
    ...options,
  })
  await group.ensure()
  return {
    streams,
    group,
    seen,
    add: (stream: number, n: string) => client.xAdd(streams[stream] ?? '', '*', { n }),
    run: () => group.run(),
    async stop(loop: Promise<void>) {
      stopping.abort()
      await blocking.close()
      await loop
    },
  }
}

describe('GroupReader', () => {
  it('takes entries in the order of the streams, and no more than there is room for', async () => {
    let room = 0
    let freed: () => void = () => {}
    const r = await reader(3, {
      room: () => room,
      roomFreed: () => new Promise<void>((resolve) => (freed = resolve)),
      onEntry: (entry, claimed) => {
        r.seen.push({ ...entry, claimed })
        room-- // each entry takes a slot
      },
    })
    await r.add(2, 'c1')
    await r.add(1, 'b1')
    await r.add(0, 'a1')
    await r.add(0, 'a2')
    await r.add(0, 'a3')
    const loop = r.run()
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(r.seen).toEqual([]) // no room, nothing read
    room = 2
    freed()
    await until(() => r.seen.length === 2)
    await new Promise((resolve) => setTimeout(resolve, 150))
    expect(r.seen.map((e) => e.message.n)).toEqual(['a1', 'a2'])
    room = 10
    freed()
    await until(() => r.seen.length === 5)
    expect(r.seen.map((e) => e.message.n)).toEqual(['a1', 'a2', 'a3', 'b1', 'c1'])
    expect(r.seen.map((e) => e.stream)).toEqual([
      r.streams[0],
      r.streams[0],
      r.streams[0],
      r.streams[1],
      r.streams[2],
    ])
    expect(r.seen.every((e) => !e.claimed)).toBe(true)
    await r.stop(loop)
  })

  it('holds an entry a blocking read brought when the room went meanwhile, and hands it over at the next room', async () => {
    let room = 1
    let freed: () => void = () => {}
    const r = await reader(2, {
      room: () => room,
      roomFreed: () => new Promise<void>((resolve) => (freed = resolve)),
      // One long blocking read, so that the entry surely comes by it (and not by a read begun
      // after the room went, which would not be sent at all).
      blockMs: 30_000,
    })
    const loop = r.run()
    // Blocked on both streams.
    await untilAsync(async () => (await client.clientList()).some((c) => c.cmd === 'xreadgroup'))
    room = 0 // the slot went to other work while the read waited
    const id = await r.add(1, 'b1')
    // Read (pending for this consumer), and held.
    const pending = () => client.xPendingRange(r.streams[1] ?? '', 'g', '-', '+', 10)
    await untilAsync(async () => (await pending()).length === 1)
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(r.seen).toEqual([])
    expect(await pending()).toMatchObject([{ id, consumer: 'me' }])
    room = 1
    freed()
    await until(() => r.seen.length === 1)
    expect(r.seen[0]).toMatchObject({ id, stream: r.streams[1], claimed: false, message: { n: 'b1' } })
    await r.stop(loop)
  })

  it("takes over a dead consumer's entries idle past claimIdleMs, and reports those deleted meanwhile", async () => {
    const deleted: string[][] = []
    const r = await reader(1, {
      claimIdleMs: 100,
      claimEveryMs: 50,
      onDeleted: async (_stream, ids) => void deleted.push(ids),
    })
    const kept = await r.add(0, 'kept')
    const gone = await r.add(0, 'gone')
    await client.xReadGroup('g', 'dead', { key: r.streams[0] ?? '', id: '>' }, { COUNT: 10 })
    await client.xDel(r.streams[0] ?? '', gone)
    const loop = r.run()
    await until(() => r.seen.length === 1 && deleted.length === 1)
    expect(r.seen[0]).toMatchObject({ id: kept, claimed: true, message: { n: 'kept' } })
    expect(deleted).toEqual([[gone]])
    const owners = await client.xPendingRange(r.streams[0] ?? '', 'g', '-', '+', 10)
    expect(owners.map((p) => [p.id, p.consumer])).toEqual([[kept, 'me']])
    await r.stop(loop)
  })

  it('makes the group again when Redis lost it (NOGROUP), and reads on', async () => {
    const errors: unknown[] = []
    const r = await reader(1, { onError: (error) => errors.push(error) })
    const loop = r.run()
    await new Promise((resolve) => setTimeout(resolve, 50))
    await client.del(r.streams[0] ?? '')
    await until(() => errors.some((error) => String(error).includes('NOGROUP')), 5000)
    // The pause after the error, then the group is made again.
    const groups = async () =>
      (await client.exists(r.streams[0] ?? '')) && (await client.xInfoGroups(r.streams[0] ?? '')).length
    for (const end = Date.now() + 5000; !(await groups()); ) {
      if (Date.now() > end) throw new Error('the group was not made again')
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect(r.seen).toEqual([])
    await r.add(0, 'after')
    await until(() => r.seen.length === 1)
    expect(r.seen[0]?.message.n).toBe('after')
    await r.stop(loop)
  })

  it('with no room, sees a stalled entry and takes it over before any new one', async () => {
    let room = 0
    let freed: () => void = () => {}
    const r = await reader(1, {
      claimIdleMs: 50,
      room: () => room,
      roomFreed: () => new Promise<void>((resolve) => (freed = resolve)),
      onEntry: (entry, claimed) => {
        r.seen.push({ ...entry, claimed })
        room--
      },
    })
    const stalled = await r.add(0, 'stalled')
    await client.xReadGroup('g', 'dead', { key: r.streams[0] ?? '', id: '>' }, { COUNT: 1 })
    await r.add(0, 'new')
    expect(await r.group.hasStalled()).toBe(false) // not idle long enough yet
    await new Promise((resolve) => setTimeout(resolve, 80))
    const loop = r.run()
    await new Promise((resolve) => setTimeout(resolve, 50))
    await r.group.watchStalled()
    expect(r.group.takeOverPending).toBe(true)
    room = 1
    freed()
    await until(() => r.seen.length === 1)
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(r.seen).toHaveLength(1)
    expect(r.seen[0]).toMatchObject({ id: stalled, claimed: true })
    expect(r.group.takeOverPending).toBe(false)
    await r.stop(loop)
  })

  it('reads and claims nothing while paused', async () => {
    let pause: Promise<void> | null = null
    let resume: () => void = () => {}
    pause = new Promise<void>((resolve) => (resume = resolve))
    const r = await reader(1, { paused: () => pause })
    await r.add(0, 'one')
    const loop = r.run()
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(r.seen).toEqual([])
    pause = null
    resume()
    await until(() => r.seen.length === 1)
    await r.stop(loop)
  })
})
