import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { JobEvent } from '../api/events.ts'
import { createLogger } from '../logger.ts'
import { closeRedis, connectRedis, type RedisClient } from '../redis/redis.ts'
import { redisKeys } from '../redis/redis-keys.ts'
import { startTestRedis, type TestRedis } from '../testing/redis.ts'
import { toEvent } from './events.ts'
import { JobStore } from './job-store.ts'
import { DELIVERY_LOG_LENGTH, type DeliveryLogEntry, WebhookDeliveries } from './webhook-deliveries.ts'

let redis: TestRedis
let client: RedisClient

beforeAll(async () => {
  redis = await startTestRedis()
  client = await connectRedis(redis.url, createLogger({ service: 'test', level: 'silent' }))
})
afterAll(async () => {
  await closeRedis(client)
  await redis.stop()
})

/** The store as the webhook worker gets it: on a JobStore's RedisCalls (the store's scripts loaded). */
const deliveriesOn = (keys: ReturnType<typeof redisKeys>) =>
  new WebhookDeliveries(new JobStore(client, keys).redis, keys)

const NOW = Date.parse('2026-01-01T00:00:00Z')

/** A store on a fresh prefix with its group made, and one event appended to the log and read by `consumer`. */
async function withEvent(fields: Record<string, string> = {}) {
  const keys = redisKeys(redis.prefix())
  const deliveries = deliveriesOn(keys)
  await deliveries.ensureGroup()
  const message = { type: 'job.completed', job_id: 'job-1', status: 'completed', ...fields }
  const id = await client.xAdd(keys.events, '*', message)
  await client.xReadGroup(keys.webhookGroup, 'reader', { key: keys.events, id: '>' })
  return { keys, deliveries, event: toEvent(id, message) }
}

const pending = async (keys: ReturnType<typeof redisKeys>) =>
  (await client.xPending(keys.events, keys.webhookGroup)).pending

function logEntry(event: JobEvent, attempt: number, error: string | null): DeliveryLogEntry {
  return {
    event: event.type,
    url: 'https://a.example/hook',
    target: 'operator',
    attempt,
    status_code: error ? 500 : 204,
    error,
    at: new Date(NOW).toISOString(),
    webhook_id: 'w',
  }
}

describe('WebhookDeliveries', () => {
  it('makes one delivery per destination and acknowledges the event, once', async () => {
    const { keys, deliveries, event } = await withEvent()
    const destinations = [
      { url: 'https://a.example/hook', target: 'operator' as const },
      { url: 'https://app.example/cb', target: 'callback' as const },
    ]
    expect(await deliveries.enqueue(event, destinations, '{"x":1}', NOW)).toBe(2)
    expect(await pending(keys)).toBe(0)
    // A replay of the same event (a takeover after a crash) makes none.
    expect(await deliveries.enqueue(event, destinations, '{"x":1}', NOW)).toBe(0)
    const key = keys.webhook(`${event.id}:1`)
    expect(await deliveries.read(key)).toEqual({
      key,
      url: 'https://app.example/cb',
      webhookId: `msg_${event.id.replace('-', '_')}_1`,
      target: 'callback',
      jobId: 'job-1',
      type: 'job.completed',
      body: '{"x":1}',
      attempt: 0,
    })
    expect(await deliveries.nextDue()).toBe(NOW)
  })

  it('only acknowledges an event with no destinations', async () => {
    const { keys, deliveries, event } = await withEvent()
    expect(await deliveries.enqueue(event, [], '', NOW)).toBe(0)
    expect(await pending(keys)).toBe(0)
    expect(await deliveries.nextDue()).toBeNull()
  })

  it('hands a due delivery to one claimer for its lease, then again when the lease ends', async () => {
    const { keys, deliveries, event } = await withEvent()
    await deliveries.enqueue(event, [{ url: 'https://a.example/hook', target: 'operator' }], '{}', NOW)
    const key = keys.webhook(`${event.id}:0`)
    expect(await deliveries.claimDue(NOW - 1, 1000, 10)).toEqual([])
    expect(await deliveries.claimDue(NOW, 1000, 10)).toEqual([key])
    expect(await deliveries.claimDue(NOW + 999, 1000, 10)).toEqual([])
    expect(await deliveries.nextDue()).toBe(NOW + 1000)
    expect(await deliveries.claimDue(NOW + 1000, 1000, 10)).toEqual([key])
    await deliveries.postpone(key, NOW + 5000)
    expect(await deliveries.nextDue()).toBe(NOW + 5000)
  })

  it('logs an attempt with its job, then makes it due again or drops it', async () => {
    const { keys, deliveries, event } = await withEvent()
    await client.hSet(keys.job('job-1'), 'status', 'completed')
    await deliveries.enqueue(event, [{ url: 'https://a.example/hook', target: 'operator' }], '{}', NOW)
    const key = keys.webhook(`${event.id}:0`)
    const delivery = await deliveries.read(key)
    if (!delivery) throw new Error('no delivery')

    const first = logEntry(event, 1, 'HTTP 500')
    await deliveries.settle(delivery, { again: true, dueAt: NOW + 60_000, entry: first })
    expect((await deliveries.read(key))?.attempt).toBe(1)
    expect(await deliveries.nextDue()).toBe(NOW + 60_000)

    const second = logEntry(event, 2, null)
    await deliveries.settle(delivery, { again: false, dueAt: NOW, entry: second })
    expect(await deliveries.read(key)).toBeNull()
    expect(await deliveries.nextDue()).toBeNull()
    expect(await deliveries.log('job-1')).toEqual([first, second])
    expect(await deliveries.callbackUrl('job-1')).toBeUndefined()
    await client.hSet(keys.job('job-1'), 'callback_url', 'https://app.example/cb')
    expect(await deliveries.callbackUrl('job-1')).toBe('https://app.example/cb')
  })

  it('keeps no log for a job that no longer exists, and only the last entries of one that does', async () => {
    const { keys, deliveries, event } = await withEvent()
    await deliveries.enqueue(event, [{ url: 'https://a.example/hook', target: 'operator' }], '{}', NOW)
    const delivery = { key: keys.webhook(`${event.id}:0`), jobId: 'job-1' }
    await deliveries.settle(delivery, { again: true, dueAt: NOW, entry: logEntry(event, 1, 'HTTP 500') })
    expect(await deliveries.log('job-1')).toEqual([])

    await client.hSet(keys.job('job-1'), 'status', 'completed')
    for (let attempt = 1; attempt <= DELIVERY_LOG_LENGTH + 2; attempt++) {
      await deliveries.settle(delivery, {
        again: true,
        dueAt: NOW,
        entry: logEntry(event, attempt, 'HTTP 500'),
      })
    }
    const log = await deliveries.log('job-1')
    expect(log).toHaveLength(DELIVERY_LOG_LENGTH)
    expect(log[0]?.attempt).toBe(3)
  })

  it('its reader takes over an event a dead consumer read, and drops the ones trimmed from the log', async () => {
    const { keys, deliveries, event } = await withEvent({ callback_url: 'https://app.example/cb' })
    const gone = await client.xAdd(keys.events, '*', { type: 'job.failed', job_id: 'job-2' })
    await client.xReadGroup(keys.webhookGroup, 'reader', { key: keys.events, id: '>' })
    await client.xDel(keys.events, gone)
    await new Promise((resolve) => setTimeout(resolve, 20))

    const blocking = await connectRedis(redis.url, createLogger({ service: 'test', level: 'silent' }))
    const stop = new AbortController()
    const seen: Array<{ event: JobEvent; claimed: boolean }> = []
    const reading = deliveries
      .reader({
        reader: blocking,
        consumer: 'other',
        blockMs: 50,
        claimIdleMs: 10,
        claimEveryMs: 10,
        signal: stop.signal,
        onEntry: (entry, claimed) => void seen.push({ event: toEvent(entry.id, entry.message), claimed }),
      })
      .run()
    for (let i = 0; i < 100 && seen.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20))
    stop.abort()
    await reading
    await closeRedis(blocking)
    // The trimmed entry is dropped from the pending list; the other is taken over.
    expect(seen).toEqual([{ event, claimed: true }])
    expect(seen[0]?.event.callback_url).toBe('https://app.example/cb')
    expect(await pending(keys)).toBe(1)

    await deliveries.ackEvents([event.id])
    expect(await pending(keys)).toBe(0)
  })

  it('starts the group at the end of the log, and again leaves it where it is', async () => {
    const keys = redisKeys(redis.prefix())
    await client.xAdd(keys.events, '*', { type: 'job.queued', job_id: 'old' })
    const deliveries = deliveriesOn(keys)
    await deliveries.ensureGroup()
    await deliveries.ensureGroup()
    expect(await client.xReadGroup(keys.webhookGroup, 'reader', { key: keys.events, id: '>' })).toBeNull()
  })
})
