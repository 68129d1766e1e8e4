import { FINAL_EVENTS } from '@vpp/shared/api/constants'
import { VppError } from './client-error.ts'
import { readSse, type SseMessage } from './sse.ts'
import type { JobStreamEvent } from './types.ts'

export interface EventsOptions {
  /** Start after this event (an `id` seen before) instead of at the job's first. */
  lastEventId?: string
  signal?: AbortSignal
  /**
   * Waits before each reconnect, in ms, after the connection dropped or the service answered
   * 5xx or not at all; once they are spent with no event in between, that error is thrown.
   * A `retry:` from the server lengthens them. Default: 0, 1, 2, 5, 10 and 10 s.
   */
  retryDelays?: number[]
  /** Told before each reconnect: which one, and the id it resumes after. */
  onReconnect?: (attempt: number, lastEventId: string | undefined) => void
}

const DEFAULT_DELAYS = [0, 1000, 2000, 5000, 10_000, 10_000]

/**
 * A job's events as they happen, over SSE, until its final one: `open` makes one request
 * (with `Last-Event-ID` when there is one). A dropped connection is opened again after the last
 * event seen, so none is lost or repeated; a 4xx (the job unknown, a bad key) is thrown at once.
 * Leaving the loop early closes the connection.
 */
export function followJobEvents(
  open: (lastEventId: string | undefined, signal: AbortSignal) => Promise<Response>,
  options: EventsOptions = {},
): AsyncGenerator<JobStreamEvent, void, undefined> {
  return followEvents(open, options, (event) => FINAL_EVENTS.has(event.type))
}

/**
 * Events over SSE as followJobEvents reads them, until `isLast` says one is the last (never, for
 * the feed of every job's events).
 */
export async function* followEvents(
  open: (lastEventId: string | undefined, signal: AbortSignal) => Promise<Response>,
  options: EventsOptions,
  isLast: (event: JobStreamEvent) => boolean,
): AsyncGenerator<JobStreamEvent, void, undefined> {
  const delays = options.retryDelays ?? DEFAULT_DELAYS
  let last = options.lastEventId
  let failures = 0
  let serverRetry = 0
  for (;;) {
    const controller = new AbortController()
    const abort = () => controller.abort(options.signal?.reason)
    options.signal?.addEventListener('abort', abort, { once: true })
    let messages: AsyncGenerator<SseMessage> | undefined
    let dropped: unknown
    try {
      const res = await open(last, controller.signal).catch((error: unknown) => {
        if (!(error instanceof VppError) || options.signal?.aborted) throw error
        return error
      })
      if (res instanceof VppError || res.status >= 500) {
        dropped = res instanceof VppError ? res : await VppError.fromResponse(res)
      } else if (!res.ok || !res.body) {
        throw await VppError.fromResponse(res)
      } else {
        messages = readSse(res.body)
        for (;;) {
          let next: IteratorResult<SseMessage>
          try {
            next = await messages.next()
          } catch (error) {
            if (options.signal?.aborted) throw error
            dropped = error
            break
          }
          if (next.done) {
            dropped = new VppError(0, 'stream_ended', 'the event stream ended early')
            break
          }
          const message = next.value
          serverRetry = message.retry ?? serverRetry
          if (message.id) last = message.id
          const event = { ...JSON.parse(message.data), id: message.id } as JobStreamEvent
          failures = 0
          yield event
          if (isLast(event)) return
        }
      }
    } finally {
      options.signal?.removeEventListener('abort', abort)
      await messages?.return(undefined)
      controller.abort()
    }
    const delay = delays[failures]
    if (delay === undefined) throw dropped
    failures++
    options.onReconnect?.(failures, last)
    await sleep(Math.max(delay, serverRetry), options.signal)
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
