import { compareIds, type EventLog, type JobEvent, type Logger, type RedisClient } from '@vpp/shared'

/** One listener: the events it wants, where they go (in log order), and its end. */
interface Subscriber {
  wants(event: JobEvent): boolean
  deliver(event: JobEvent): void
  end?: () => void
}

/** How long one blocking read waits before it asks again (well inside the command deadline). */
const BLOCK_MS = 2000

/**
 * The live end of the event log for one status process: a single blocking reader on a
 * connection of its own, fanning each event out to every subscriber in memory. A thousand SSE
 * clients cost a thousand small objects, not a thousand Redis connections. Started with the first
 * subscriber, stopped by close().
 */
export class EventHub {
  readonly #subscribers = new Set<Subscriber>()
  #reader: Promise<void> | undefined
  #connection: RedisClient | undefined
  #closed = false

  constructor(
    readonly log: EventLog,
    /** A connection for the blocking reads (closed with the hub). */
    readonly connect: () => Promise<RedisClient>,
    readonly logger: Logger,
  ) {}

  /**
   * Live events `wants` accepts, from now on, in order; `end` is called when the hub closes (the
   * server is stopping: its streams end, so it can). Returns the unsubscribe.
   */
  subscribe(wants: Subscriber['wants'], deliver: Subscriber['deliver'], end?: () => void): () => void {
    const subscriber = { wants, deliver, end }
    this.#subscribers.add(subscriber)
    this.#reader ??= this.#read()
    return () => this.#subscribers.delete(subscriber)
  }

  get size(): number {
    return this.#subscribers.size
  }

  async #read(): Promise<void> {
    let last: string | undefined
    while (!this.#closed) {
      try {
        this.#connection ??= await this.connect()
        last ??= await this.log.lastId()
        for (const event of await this.log.waitAfter(this.#connection, last, BLOCK_MS)) {
          last = event.id
          for (const subscriber of this.#subscribers) if (subscriber.wants(event)) subscriber.deliver(event)
        }
      } catch (error) {
        if (this.#closed) return
        this.logger.warn('event log read failed; retrying', { error: String(error) })
        await new Promise((resolve) => setTimeout(resolve, 1000))
      }
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const subscriber of this.#subscribers) subscriber.end?.()
    // The blocked read ends with its connection.
    this.#connection?.destroy()
    await this.#reader
  }
}

/**
 * A subscriber's events with no gap and no repeat: live events are held from the moment of
 * subscribing while the missed ones are read from the log (after `after`), then the held ones
 * follow, those already sent skipped by id.
 */
export class OrderedFeed {
  #held: JobEvent[] | null = []
  #sent = ''

  constructor(readonly send: (event: JobEvent) => void) {}

  /** A live event: held while the backlog is read, sent after. */
  live = (event: JobEvent): void => {
    if (this.#held) this.#held.push(event)
    else this.#emit(event)
  }

  /** Backlog events, oldest first. */
  backlog(events: JobEvent[]): void {
    for (const event of events) this.#emit(event)
  }

  /** The backlog is done: the held live events follow. */
  caughtUp(): void {
    const held = this.#held ?? []
    this.#held = null
    for (const event of held) this.#emit(event)
  }

  #emit(event: JobEvent): void {
    if (this.#sent && compareIds(event.id, this.#sent) <= 0) return
    this.#sent = event.id
    this.send(event)
  }
}
