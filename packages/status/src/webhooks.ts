import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import {
  type AddressPolicy,
  checkImportUrl,
  type DeliveryDestination,
  type JobEvent,
  type JobStore,
  type Logger,
  type RedisClient,
  toEvent,
  type WebhookDeliveries,
  type WebhookDelivery,
} from '@vpp/shared'
import { pinnedLookup } from '@vpp/shared/node'
import { Counter, Histogram, type Registry } from 'prom-client'
import { Webhook } from 'standardwebhooks'
import type { Presenter } from './presenter.ts'

export interface WebhookOptions {
  /** WEBHOOK_URLS: sent every job's events. */
  urls: readonly string[]
  /** WEBHOOK_SECRET, `whsec_<base64>`. */
  secret: string
  /** WEBHOOK_EVENTS: the types sent. */
  events: readonly string[]
  /** WEBHOOK_TIMEOUT_MS: one attempt's time. */
  timeoutMs: number
  /** WEBHOOK_RETRY_SCHEDULE: the wait before each further attempt, ms. */
  schedule: readonly number[]
  /** WEBHOOK_CONCURRENCY: attempts in flight at once. */
  concurrency: number
  /** Which addresses a target may resolve to (URL_IMPORT_ALLOW_PRIVATE). */
  allowed: AddressPolicy
  /** This worker's name in the consumer group. */
  consumer: string
  /** Host name -> addresses (tests pass their own); the system resolver by default. */
  resolve?: (hostname: string) => Promise<string[]>
  /** How long an event read by a worker that died waits before another takes it. */
  claimIdleMs?: number
}

/** What one attempt came to, as `video_webhook_deliveries_total{result}` counts it. */
const RESULTS = ['delivered', 'failed', 'exhausted', 'refused'] as const
type Result = (typeof RESULTS)[number]

/** One attempt's result before the retry schedule is consulted, with what the log records of it. */
interface Outcome {
  result: Exclude<Result, 'exhausted'>
  statusCode: number | null
  error: string | null
}

/** Most bytes of a receiver's answer read (and dropped). */
const MAX_ANSWER_BYTES = 64 * 1024

export function createWebhookMetrics(registry: Registry) {
  const deliveries = new Counter({
    name: 'video_webhook_deliveries_total',
    help: 'Webhook delivery attempts, by result (delivered, failed and retried, exhausted, refused target)',
    labelNames: ['result'] as const,
    registers: [registry],
  })
  for (const result of RESULTS) deliveries.inc({ result }, 0)
  return {
    deliveries,
    latency: new Histogram({
      name: 'video_webhook_latency_seconds',
      help: 'Time of one webhook delivery attempt, request sent to answer read',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
  }
}
export type WebhookMetrics = ReturnType<typeof createWebhookMetrics>

/**
 * Webhooks, at least once: a consumer group of their own on the event log turns each event into
 * deliveries (one per target, in Redis, the event acknowledged in the same step), and a sender
 * takes due deliveries under a lease, signs them (Standard Webhooks) and POSTs them, each
 * attempt logged with its job. A non-2xx answer, a timeout or a refused connection is retried on
 * the schedule with the same webhook-id; a sender that dies mid-attempt leaves its lease to
 * expire, and the delivery is sent again. Attempts run concurrently, a target at most a quarter
 * of them, so a dead or slow endpoint holds up neither jobs nor other endpoints.
 */
export class WebhookWorker {
  readonly #signer: Webhook
  readonly #inFlight = new Map<string, number>()
  #running = 0
  /** Aborted by close(): ends both loops. */
  readonly #stopping = new AbortController()
  #wake = () => {}
  #loops: Promise<void>[] = []
  #reader: RedisClient | undefined
  readonly #deliveries: WebhookDeliveries

  constructor(
    readonly store: JobStore,
    readonly presenter: Presenter,
    readonly options: WebhookOptions,
    readonly logger: Logger,
    readonly metrics: WebhookMetrics,
    /** A connection for the blocking reads. */
    readonly connect: () => Promise<RedisClient>,
  ) {
    this.#signer = new Webhook(options.secret)
    this.#deliveries = store.webhooks
  }

  async start(): Promise<void> {
    await this.#deliveries.ensureGroup()
    this.#reader = await this.connect()
    this.#loops = [this.#consume(this.#reader), this.#send()]
  }

  async close(): Promise<void> {
    this.#stopping.abort()
    this.#wake()
    this.#reader?.destroy()
    await Promise.all(this.#loops)
    // Attempts in flight finish (each within WEBHOOK_TIMEOUT_MS) or their leases run out.
    for (let waited = 0; this.#running > 0 && waited < this.options.timeoutMs + 1000; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }

  /** Read events as this group's consumer; take over those a dead worker read and left. */
  /** Turn new events (and those a dead consumer left) into deliveries, until closed. */
  #consume(reader: RedisClient): Promise<void> {
    const claimIdleMs = this.options.claimIdleMs ?? 30_000
    return this.#deliveries
      .reader({
        reader,
        consumer: this.options.consumer,
        blockMs: 2000,
        claimIdleMs,
        claimEveryMs: claimIdleMs / 2,
        signal: this.#stopping.signal,
        onEntry: (entry) => this.#enqueue(toEvent(entry.id, entry.message)),
        onError: (error) => this.logger.warn('webhook event read failed; retrying', { error: String(error) }),
      })
      .run()
  }

  /** An event's deliveries, one per target it goes to; the event acknowledged with them. */
  async #enqueue(event: JobEvent): Promise<void> {
    // Each with its kind: the job's own callback_url is its owner's to see, WEBHOOK_URLS are not.
    const destinations: DeliveryDestination[] = this.options.events.includes(event.type)
      ? [
          ...this.options.urls.map((url) => ({ url, target: 'operator' as const })),
          ...(event.callback_url ? [{ url: event.callback_url, target: 'callback' as const }] : []),
        ]
      : []
    let body = ''
    if (destinations.length > 0) {
      // The job as GET /jobs/{id} answers it now (its last state, when it has gone on since).
      const job = await this.store.get(event.job_id)
      const data = job ? await this.presenter.job(job) : await this.presenter.event(event)
      body = JSON.stringify({ type: event.type, timestamp: event.at, data })
    }
    await this.#deliveries.enqueue(event, destinations, body, Date.now())
    if (destinations.length > 0) this.#wake()
  }

  /** Take due deliveries while there is room, each sent on its own. */
  async #send(): Promise<void> {
    const lease = this.options.timeoutMs + 5000
    while (!this.#stopping.signal.aborted) {
      try {
        const room = this.options.concurrency - this.#running
        const claimed = room > 0 ? await this.#deliveries.claimDue(Date.now(), lease, room) : []
        for (const key of claimed) {
          this.#running++
          void this.#attempt(key).finally(() => {
            this.#running--
            this.#wake()
          })
        }
        if (claimed.length === 0 || room - claimed.length <= 0) await this.#sleep(await this.#nextDue())
      } catch (error) {
        if (this.#stopping.signal.aborted) return
        this.logger.warn('webhook claim failed; retrying', { error: String(error) })
        await this.#sleep(1000)
      }
    }
  }

  /** Milliseconds until the next delivery is due (at most a second, so new work is never missed long). */
  async #nextDue(): Promise<number> {
    const next = await this.#deliveries.nextDue()
    return next !== null ? Math.min(1000, Math.max(10, next - Date.now())) : 1000
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms)
      this.#wake = () => {
        clearTimeout(timer)
        resolve()
      }
    })
  }

  /** One attempt at one delivery, and its outcome recorded. */
  async #attempt(key: string): Promise<void> {
    const delivery = await this.#deliveries.read(key)
    if (!delivery) return // settled by a worker whose lease had run out meanwhile
    const target = new URL(delivery.url).origin
    const perTarget = Math.max(1, Math.floor(this.options.concurrency / 4))
    if ((this.#inFlight.get(target) ?? 0) >= perTarget) {
      // Its target has all it may take: back in a moment, no attempt counted.
      await this.#deliveries.postpone(key, Date.now() + 500)
      return
    }
    this.#inFlight.set(target, (this.#inFlight.get(target) ?? 0) + 1)
    const attempt = delivery.attempt + 1
    const started = performance.now()
    let outcome: Outcome
    try {
      outcome = await this.#outcome(delivery)
    } finally {
      this.#inFlight.set(target, (this.#inFlight.get(target) ?? 1) - 1)
    }
    this.metrics.latency.observe((performance.now() - started) / 1000)
    const wait = this.options.schedule[attempt - 1]
    const result: Result = outcome.result === 'failed' && wait === undefined ? 'exhausted' : outcome.result
    this.metrics.deliveries.inc({ result })
    const entry = {
      event: delivery.type,
      url: delivery.url,
      target: delivery.target,
      attempt,
      status_code: outcome.statusCode,
      error: outcome.error,
      at: new Date().toISOString(),
      webhook_id: delivery.webhookId,
    }
    if (result !== 'delivered') {
      this.logger.warn('webhook delivery failed', {
        ...entry,
        result,
        retry_in_ms: result === 'failed' ? wait : null,
      })
    }
    await this.#deliveries.settle(delivery, {
      again: result === 'failed',
      dueAt: Date.now() + (wait ?? 0),
      entry,
    })
  }

  /** POST the delivery once: what came of it, before the retry schedule has its say. */
  async #outcome(delivery: WebhookDelivery): Promise<Outcome> {
    try {
      const statusCode = await this.#post(delivery.url, delivery.webhookId, delivery.body)
      const delivered = statusCode >= 200 && statusCode < 300
      return delivered
        ? { result: 'delivered', statusCode, error: null }
        : { result: 'failed', statusCode, error: `HTTP ${statusCode}` }
    } catch (cause) {
      const code = (cause as { code?: string }).code
      return code === 'url_not_allowed'
        ? { result: 'refused', statusCode: null, error: String((cause as Error).message) }
        : { result: 'failed', statusCode: null, error: code ?? String((cause as Error).message) }
    }
  }

  /**
   * POST `body` to `url`, signed; the answer's status code. The target is held to the URL import
   * rules at every attempt (http/https, no credentials, a public address unless
   * URL_IMPORT_ALLOW_PRIVATE), and the connection goes to the address that was checked.
   */
  #post(url: string, webhookId: string, body: string): Promise<number> {
    const target = new URL(url)
    checkImportUrl(target, this.options.allowed)
    const timestamp = new Date()
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'video-pipeline-webhooks',
      'webhook-id': webhookId,
      'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
      'webhook-signature': this.#signer.sign(webhookId, timestamp, body),
    }
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest
    return new Promise((resolve, reject) => {
      const request = send(target, {
        method: 'POST',
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
        lookup: pinnedLookup(this.options.allowed, this.options.resolve),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      })
      request.once('response', (response) => {
        let read = 0
        response.on('data', (chunk: Buffer) => {
          read += chunk.byteLength
          if (read > MAX_ANSWER_BYTES) response.destroy()
        })
        response.once('end', () => resolve(response.statusCode ?? 0))
        response.once('close', () => resolve(response.statusCode ?? 0))
        response.once('error', () => resolve(response.statusCode ?? 0))
      })
      request.once('error', (error: NodeJS.ErrnoException) => {
        reject(
          error.name === 'AbortError' || error.name === 'TimeoutError'
            ? Object.assign(error, { code: 'timeout' })
            : error,
        )
      })
      request.end(body)
    })
  }
}
