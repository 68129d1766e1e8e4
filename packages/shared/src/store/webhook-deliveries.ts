import type { Delivery, DeliveryTarget } from '../api/api-bodies.ts'
import type { EventType, JobEvent } from '../api/events.ts'
import { createGroup, GroupReader, type GroupReaderOptions } from '../redis/group-reader.ts'
import type { RedisCalls } from '../redis/redis-calls.ts'
import type { RedisKeys } from '../redis/redis-keys.ts'

/** How many attempts a job's delivery log keeps. */
export const DELIVERY_LOG_LENGTH = 100

/** A delivery log entry as the webhook worker writes it (`target` missing in those written before it was kept). */
export type DeliveryLogEntry = Omit<Delivery, 'target'> & { target?: DeliveryTarget }

/** Where one event goes: a URL, and whose it is. */
export interface DeliveryDestination {
  url: string
  target: DeliveryTarget
}

/** One delivery as kept in Redis until it is delivered or given up. */
export interface WebhookDelivery {
  /** Its hash's key: what the due set holds and `claimDue` hands out. */
  key: string
  url: string
  /** The `webhook-id` header, the same on every attempt. */
  webhookId: string
  /** Missing in deliveries made before the target was kept. */
  target: DeliveryTarget | undefined
  jobId: string
  type: EventType
  /** The signed JSON body. */
  body: string
  /** Attempts made so far. */
  attempt: number
}

/** One attempt's outcome: done with (delivered, or given up), or due again at `dueAt`. */
export interface Settlement {
  again: boolean
  /** When it is due again (ms); ignored when done. */
  dueAt: number
  /** What the job's delivery log records of the attempt; its `attempt` becomes the delivery's. */
  entry: DeliveryLogEntry
}

/**
 * Webhook deliveries on Redis, so each survives the death of the process sending it: a hash per
 * delivery, a set of them scored by when each is next due, and each job's log of attempts. Also
 * the webhook consumer group's own housekeeping on the event log (creating it, taking over what
 * a dead worker read). The blocking read itself holds a connection of its own and is the
 * worker's.
 */
export class WebhookDeliveries {
  constructor(
    readonly redis: RedisCalls,
    readonly keys: RedisKeys,
  ) {}

  /** Create the webhook consumer group on the event log, from now on: a first start does not send the whole history. */
  ensureGroup(): Promise<void> {
    return createGroup(this.redis, [this.keys.events], this.keys.webhookGroup, '$')
  }

  /**
   * The webhook group's reader of the event log (the consumer-group loop the transcoders use too):
   * new events, and events a dead consumer read and left idle past `claimIdleMs`, taken over.
   */
  reader(
    options: Omit<GroupReaderOptions, 'redis' | 'group' | 'streams' | 'from' | 'onDeleted'>,
  ): GroupReader {
    return new GroupReader({
      ...options,
      redis: this.redis,
      group: this.keys.webhookGroup,
      streams: [this.keys.events],
      from: '$',
      // Read but trimmed from the log before they were turned into deliveries: nothing to send.
      onDeleted: (_stream, ids) => this.ackEvents(ids),
    })
  }

  /** Acknowledge events of the webhook group without making deliveries of them. */
  async ackEvents(ids: string[]): Promise<void> {
    if (ids.length > 0)
      await this.redis.call(this.redis.client.xAck(this.keys.events, this.keys.webhookGroup, ids))
  }

  /**
   * Turn `event` into one delivery per destination, each due at `now` with `body`, and acknowledge
   * the event, in one step (so never twice; a replay of the same event makes none). With no
   * destinations it only acknowledges. Returns how many deliveries were made.
   */
  async enqueue(event: JobEvent, destinations: readonly DeliveryDestination[], body: string, now: number) {
    const k = this.keys
    // Each delivery's key is k.webhook(`${event.id}:${i}`): the script joins the prefix and the id.
    const deliveries = destinations.flatMap(({ url, target }, i) => [
      `${event.id}:${i}`,
      url,
      `msg_${event.id.replace('-', '_')}_${i}`,
      target,
    ])
    const made = await this.redis.script(
      'enqueueDeliveries',
      [k.webhooksDue, k.events],
      [k.webhookGroup, event.id, String(now), event.job_id, event.type, body, k.webhook(''), ...deliveries],
    )
    return Number(made)
  }

  /** Up to `max` deliveries due by `now`, taken for `leaseMs`: one whose sender dies is due again after it. */
  async claimDue(now: number, leaseMs: number, max: number): Promise<string[]> {
    return (await this.redis.script(
      'claimDeliveries',
      [this.keys.webhooksDue],
      [String(now), String(leaseMs), String(max)],
    )) as string[]
  }

  /** When (ms) the next delivery is due, or null when there is none. */
  async nextDue(): Promise<number | null> {
    const [next] = await this.redis.call(this.redis.client.zRangeWithScores(this.keys.webhooksDue, 0, 0))
    return next ? next.score : null
  }

  /** A delivery by its key, or null when it is gone (settled meanwhile by a worker whose lease had run out). */
  async read(key: string): Promise<WebhookDelivery | null> {
    const hash = await this.redis.call(this.redis.client.hGetAll(key))
    if (!hash.url) return null
    return {
      key,
      url: hash.url,
      webhookId: hash.webhook_id ?? '',
      target: hash.target as DeliveryTarget | undefined,
      jobId: hash.job_id ?? '',
      type: hash.type as EventType,
      body: hash.body ?? '',
      attempt: Number(hash.attempt ?? 0),
    }
  }

  /** Make a claimed delivery due again at `dueAt` without an attempt counted (if it still exists). */
  async postpone(key: string, dueAt: number): Promise<void> {
    await this.redis.call(
      this.redis.client.zAdd(this.keys.webhooksDue, { score: dueAt, value: key }, { XX: true }),
    )
  }

  /**
   * Record an attempt at `delivery` in its job's log (only while the job exists; the last
   * DELIVERY_LOG_LENGTH kept), then drop the delivery or make it due again, in one step.
   */
  async settle(delivery: Pick<WebhookDelivery, 'key' | 'jobId'>, settlement: Settlement): Promise<void> {
    const k = this.keys
    await this.redis.script(
      'settleDelivery',
      [delivery.key, k.webhooksDue, k.deliveries(delivery.jobId), k.job(delivery.jobId)],
      [
        settlement.again ? 'again' : 'done',
        String(settlement.dueAt),
        JSON.stringify(settlement.entry),
        String(DELIVERY_LOG_LENGTH),
        String(settlement.entry.attempt),
      ],
    )
  }

  /** Job `jobId`'s delivery attempts, oldest first (the last DELIVERY_LOG_LENGTH). */
  async log(jobId: string): Promise<DeliveryLogEntry[]> {
    const entries = await this.redis.call(this.redis.client.lRange(this.keys.deliveries(jobId), 0, -1))
    return entries.map((entry) => JSON.parse(entry) as DeliveryLogEntry)
  }

  /**
   * Job `jobId`'s callback_url, if any: whose log entries written before the target was kept are
   * the callback's (see DeliveryLogEntry).
   */
  async callbackUrl(jobId: string): Promise<string | undefined> {
    return (await this.redis.call(this.redis.client.hGet(this.keys.job(jobId), 'callback_url'))) ?? undefined
  }
}
