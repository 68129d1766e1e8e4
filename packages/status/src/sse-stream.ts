import type { EventLog, JobEvent } from '@vpp/shared'
import { type EventHub, OrderedFeed } from './event-hub.ts'

/** Frames queued for one SSE client past which it is taken to have stopped reading. */
const MAX_QUEUED_FRAMES = 10_000
const KEEP_ALIVE = new TextEncoder().encode(': keep-alive\n\n')
/** Events read from the log a page at a time when a stream replays what a client missed. */
const BACKLOG_PAGE = 1000

/** What one stream sends, and when it ends. */
export interface StreamOptions {
  /** The events this client gets. */
  wants: (event: JobEvent) => boolean
  /** Replay from the log after this event id (`-`: its oldest); unset: live events only. */
  from?: string
  /** Replay from `from` itself on, not after it. */
  inclusive?: boolean
  /** Ends after an event this accepts. */
  endAfter?: (event: JobEvent) => boolean | Promise<boolean>
  /** Ends once the replay is sent (what it waits for has happened already). */
  endedAlready?: boolean
}

export interface SseStreamDeps {
  /** The live events (subscribe). */
  hub: Pick<EventHub, 'subscribe'>
  /** The log the replay is read from. */
  log: Pick<EventLog, 'after'>
  /** An event's `data` as clients see it. */
  present: (event: JobEvent) => Promise<unknown>
  /** How often an idle stream gets a comment line (SSE_KEEPALIVE_MS). */
  keepAliveMs: number
}

/**
 * One client's byte queue. A plain ReadableStream per client, fed the bytes every client shares
 * (SseStreams.frameOf): a TransformStream per client (hono's streamSSE) cost 3x the p99 of a bare
 * server (bench:sse).
 */
class ClientQueue {
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined
  /** Ends the stream (the client left, fell behind, or the stream is done). */
  finish: () => void = () => {}
  readonly done = new Promise<void>((resolve) => {
    this.finish = resolve
  })
  readonly body = new ReadableStream<Uint8Array>(
    {
      start: (controller) => {
        this.#controller = controller
      },
      cancel: () => this.finish(),
    },
    new CountQueuingStrategy({ highWaterMark: 1 }),
  )

  send(bytes: Uint8Array): void {
    const controller = this.#controller
    if (!controller) return
    controller.enqueue(bytes)
    // A client this far behind has stopped reading: it is let go, and resumes by id.
    if ((controller.desiredSize ?? 0) < -MAX_QUEUED_FRAMES) this.finish()
  }

  close(): void {
    const controller = this.#controller
    this.#controller = undefined
    try {
      controller?.close()
    } catch {} // cancelled by the client already
  }
}

/**
 * Server-sent event streams of the job event log: the events a client wants, those after `from`
 * first (from the log), then live ones (from the hub), with no gap and no repeat; a comment line
 * every keepAliveMs.
 */
export class SseStreams {
  /**
   * An event's SSE frame, made once however many clients get it: the hub hands every subscriber
   * the same event object, and what a client sees of it does not depend on who asks (access
   * only decides whether it gets it). The JSON has no line breaks: one `data:` line.
   */
  readonly #frames = new WeakMap<JobEvent, Promise<Uint8Array>>()
  readonly #encoder = new TextEncoder()

  constructor(readonly deps: SseStreamDeps) {}

  frameOf(event: JobEvent): Promise<Uint8Array> {
    let frame = this.#frames.get(event)
    if (!frame) {
      frame = this.deps
        .present(event)
        .then((data) =>
          this.#encoder.encode(`event: ${event.type}\nid: ${event.id}\ndata: ${JSON.stringify(data)}\n\n`),
        )
      this.#frames.set(event, frame)
    }
    return frame
  }

  /** The stream as an answer; it ends when `signal` aborts (the client left), or as `options` say. */
  open(signal: AbortSignal, options: StreamOptions): Response {
    const client = new ClientQueue()
    signal.addEventListener('abort', () => client.finish(), { once: true })
    void this.#run(client, options)
    return new Response(client.body, {
      headers: {
        'Content-Type': 'text/event-stream',
        'Cache-Control': 'no-cache',
        Connection: 'keep-alive',
      },
    })
  }

  /** Feeds `client` until it is finished: replay, then live events, in one chain of writes. */
  async #run(client: ClientQueue, options: StreamOptions): Promise<void> {
    let writing = Promise.resolve()
    let ended = false
    const feed = new OrderedFeed((event) => {
      writing = writing
        .then(async () => {
          if (ended) return
          client.send(await this.frameOf(event))
          if (await options.endAfter?.(event)) {
            ended = true
            client.finish()
          }
        })
        .catch(() => client.finish())
    })
    const unsubscribe = this.deps.hub.subscribe(options.wants, feed.live, () => client.finish())
    const keepAlive = setInterval(() => {
      writing = writing.then(() => client.send(KEEP_ALIVE)).catch(() => client.finish())
    }, this.deps.keepAliveMs)
    try {
      await this.#replay(feed, options)
      if (options.endedAlready) writing = writing.then(() => client.finish())
      await client.done
      await writing
    } catch {
      // Redis failed under the backlog: the stream ends, the client resumes by id.
    } finally {
      clearInterval(keepAlive)
      unsubscribe()
      client.close()
    }
  }

  /** The events after `options.from` from the log, into `feed`, then the live ones it held. */
  async #replay(feed: OrderedFeed, options: StreamOptions): Promise<void> {
    for (let cursor = options.from, first = true; cursor !== undefined; first = false) {
      const page = await this.deps.log.after(cursor, BACKLOG_PAGE, first && options.inclusive)
      feed.backlog(page.filter(options.wants))
      cursor = page.length === BACKLOG_PAGE ? page.at(-1)?.id : undefined
    }
    feed.caughtUp()
  }
}
