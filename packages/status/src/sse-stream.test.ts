/**
 * The SSE stream engine on its own: the replay from the event log, then live events from the
 * hub with no gap and no repeat, the end (after an event, after the replay, when the client
 * leaves), the keep-alive comment, and one frame an event for every client. Real Redis, a real
 * EventHub; events come from real job changes.
 */
import {
  closeRedis,
  connectRedis,
  createLogger,
  type JobEvent,
  JobStore,
  type RedisClient,
  redisKeys,
} from '@vpp/shared'
import { queuedJob, startTestRedis, type TestRedis } from '@vpp/shared/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EventHub } from './event-hub.ts'
import { Presenter } from './presenter.ts'
import { SseStreams } from './sse-stream.ts'

const logger = createLogger({ service: 'test', level: 'silent' })
let redis: TestRedis
let client: RedisClient
let store: JobStore
let hub: EventHub
const presenter = new Presenter({})
/** How many times each event id was presented. */
const presented = new Map<string, number>()

const streams = (keepAliveMs = 60_000) =>
  new SseStreams({
    hub,
    log: store.events,
    present: (event) => {
      presented.set(event.id, (presented.get(event.id) ?? 0) + 1)
      return presenter.event(event)
    },
    keepAliveMs,
  })

beforeAll(async () => {
  redis = await startTestRedis()
  client = await connectRedis(redis.url, logger)
  store = new JobStore(client, redisKeys(redis.prefix()))
  await store.group.ensure()
  hub = new EventHub(store.events, () => connectRedis(redis.url, logger), logger)
  // The hub's reader is running (and past the log's end) before any test counts on live events:
  // warm-up jobs are made until it hands one on (those before its first read are not live).
  let seen = false
  const unsubscribe = hub.subscribe(
    (event) => event.job_id.startsWith('warm-up-'),
    () => {
      seen = true
    },
  )
  for (let i = 0; !seen; i++) {
    await store.create(queuedJob(`warm-up-${i}`))
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  unsubscribe()
})
afterAll(async () => {
  await hub.close()
  await closeRedis(client)
  await redis.stop()
})

type Reader = ReadableStreamDefaultReader<Uint8Array>

/** What `reader` gives until `stop` holds of the text, or until the stream ends (`ended`). */
async function readOn(reader: Reader, stop: (text: string) => boolean = () => false) {
  const decoder = new TextDecoder()
  let text = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return { text, ended: true, reader }
    text += decoder.decode(value, { stream: true })
    if (stop(text)) return { text, ended: false, reader }
  }
}

/** A stream's text until `stop` holds of it, or until it ends. */
const read = (res: Response, stop?: (text: string) => boolean) =>
  readOn((res.body as ReadableStream<Uint8Array>).getReader(), stop)

/** The frames of `text`: `[event, id, data]` each; comment lines aside. */
const frames = (text: string) =>
  text
    .split('\n\n')
    .filter((frame) => frame.startsWith('event: '))
    .map((frame) => {
      const [event, id, data] = frame.split('\n')
      return [event?.slice(7), id?.slice(4), JSON.parse(data?.slice(6) ?? 'null')] as const
    })

const events = async (id: string): Promise<JobEvent[]> =>
  (await store.events.after('-', 1000)).filter((event) => event.job_id === id)

describe('SseStreams', () => {
  it('replays a job from its first event, goes on live, and ends after the event it waits for', async () => {
    await store.create(queuedJob('sse-a'))
    await store.create(queuedJob('sse-other'))
    const first = (await events('sse-a'))[0]?.id ?? ''
    const res = streams().open(new AbortController().signal, {
      wants: (event) => event.job_id === 'sse-a',
      from: first,
      inclusive: true,
      endAfter: (event) => event.type === 'job.canceled',
    })
    expect(res.headers.get('content-type')).toBe('text/event-stream')
    expect(res.headers.get('cache-control')).toBe('no-cache')
    const replayed = await read(res, (text) => text.includes('\n\n'))
    expect(frames(replayed.text).map(([type]) => type)).toEqual(['job.queued'])
    await store.cancel('sse-a', new Date())
    const rest = await readOn(replayed.reader)
    expect(rest.ended).toBe(true)
    const log = await events('sse-a')
    const all = frames(replayed.text + rest.text)
    expect(all.map(([type, id]) => [type, id])).toEqual(log.map((event) => [event.type, event.id]))
    expect(all.map(([type]) => type)).toEqual(['job.queued', 'job.canceled'])
    for (const [i, [, , data]] of all.entries()) {
      expect(data).toEqual(await presenter.event(log[i] as JobEvent))
    }
  })

  it('resumes after an event id, and ends once the replay is sent when the end came already', async () => {
    await store.create(queuedJob('sse-b'))
    await store.cancel('sse-b', new Date())
    const [created, canceled] = await events('sse-b')
    const res = streams().open(new AbortController().signal, {
      wants: (event) => event.job_id === 'sse-b',
      from: created?.id,
      endedAlready: true,
    })
    const { text, ended } = await read(res)
    expect(ended).toBe(true)
    expect(frames(text).map(([type, id]) => [type, id])).toEqual([['job.canceled', canceled?.id]])
  })

  it('sends a comment line while idle, and ends when the client leaves', async () => {
    const size = hub.size
    const leave = new AbortController()
    const res = streams(20).open(leave.signal, { wants: () => false })
    const { text, reader } = await read(res, (text) => text.length > 0)
    expect(text).toBe(': keep-alive\n\n')
    expect(hub.size).toBe(size + 1)
    leave.abort()
    const rest = await readOn(reader)
    expect(rest.ended).toBe(true)
    expect(hub.size).toBe(size)
  })

  it('presents an event once however many clients get it', async () => {
    const engine = streams()
    const wants = (event: JobEvent) => event.job_id === 'sse-c'
    const options = { wants, endAfter: (event: JobEvent) => event.type === 'job.queued' }
    const a = engine.open(new AbortController().signal, options)
    const b = engine.open(new AbortController().signal, options)
    await store.create(queuedJob('sse-c'))
    const [one, two] = await Promise.all([read(a), read(b)])
    expect(one.text).toBe(two.text)
    const [created] = await events('sse-c')
    expect(frames(one.text).map(([type, id]) => [type, id])).toEqual([['job.queued', created?.id]])
    expect(presented.get(created?.id ?? '')).toBe(1)
  })
})
