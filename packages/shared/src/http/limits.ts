import type { Context, MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { HTTPException } from 'hono/http-exception'
import { AppError } from '../api/errors.ts'
import { Deadlines } from '../deadlines.ts'

/** Largest body of a JSON route: `{"url": ...}` with a 2048-character URL, escaped, fits. */
export const JSON_BODY_LIMIT = 16 * 1024

/** Largest body of a route that takes none (room for a client that sends `{}` anyway). */
export const NO_BODY_LIMIT = 1024

/**
 * An error answered before the body was read whole: `Connection: close`, so the rest of the body
 * need not be read (Node and Bun close the connection after the answer; Deno waits for the
 * client to stop).
 */
const closing = (error: AppError) => {
  error.headers.Connection = 'close'
  return error
}

export const payloadTooLarge = (maxBytes: number) =>
  closing(new AppError('payload_too_large', `The request body is larger than ${maxBytes} bytes`, 413))

export const requestTimedOut = (timeoutMs: number) =>
  closing(
    new AppError('request_timeout', `The request took longer than ${Math.round(timeoutMs / 100) / 10}s`, 408),
  )

export interface RequestLimits {
  /** Largest body (413 past it); a route that is not `streamed` holds it in memory. */
  maxBytes: number
  /** Longest the request may take, its body included (408 past it). */
  timeoutMs: number
  /**
   * The route reads its body as a stream and counts it itself: only a declared Content-Length is
   * checked here (Hono's bodyLimit would buffer a chunked body whole, up to maxBytes, to count it).
   */
  streamed?: boolean
  /** The errors to answer with (default: payloadTooLarge, requestTimedOut). */
  tooLarge?: () => AppError
  timedOut?: () => AppError
}

/**
 * A body limit and a time limit for a route (Deadlines: one sweep for every request in flight
 * instead of Hono's timeout, a timer and a Promise.race each): 413 or 408 as JSON
 * `{ error, message }` (through the app's onError). The body of an ordinary route (a few KB at
 * most) is read whole, counted, before the route runs, under the time limit: a body that stops
 * coming is answered 408, never handed half-read to the route's parser (which would call it
 * malformed JSON, 400, and race the 408 to the answer), and one completed after its 408 reaches
 * no route. A streamed route reads its body itself and stops by its own, shorter, timeouts; only
 * a declared Content-Length is checked here (Hono's bodyLimit would buffer a chunked body whole
 * to count it).
 */
export function requestLimits(limits: RequestLimits): MiddlewareHandler {
  const tooLarge = limits.tooLarge ?? (() => payloadTooLarge(limits.maxBytes))
  const timedOut = limits.timedOut ?? (() => requestTimedOut(limits.timeoutMs))
  const size = bodyLimit({
    maxSize: limits.maxBytes,
    onError: () => {
      throw tooLarge()
    },
  })
  const declared = (headers: Headers) => headers.has('content-length') && !headers.has('transfer-encoding')
  /** How to make a request's body reads fail, once it has had its 408. */
  const cuts = new WeakMap<object, (error: Error) => void>()
  const deadlines = new Deadlines(limits.timeoutMs)
  /** The answer past the time limit: the AppError (carried by an HTTPException, as Hono's timeout did). */
  const expired = (c: Context) => () => {
    const error = timedOut()
    cuts.get(c)?.(error)
    return new HTTPException(error.status as 408, { message: error.message, cause: error })
  }
  /** The request's body read whole (413 past maxBytes), and the request given it as bytes. */
  const readWhole = async (c: Context) => {
    const { headers, body } = c.req.raw
    if (declared(headers) && Number(headers.get('content-length')) > limits.maxBytes) throw tooLarge()
    if (!body) return
    const severed = severable(body)
    cuts.set(c, severed.sever)
    const bytes = await readAtMost(severed.stream, limits.maxBytes, tooLarge)
    c.req.raw = new Request(c.req.raw, { body: bytes })
  }
  return (c, next) => {
    // GET and HEAD carry no body (fetch's Request refuses one), and asking for `body` is not free:
    // on Node it makes @hono/node-server build the whole Request (half the GET throughput).
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return deadlines.within(next(), expired(c))
    // (size's onError throws, so it never answers with a Response of its own.)
    if (limits.streamed) {
      return deadlines.within(declared(c.req.raw.headers) ? size(c, next) : next(), expired(c))
    }
    return deadlines.within(
      readWhole(c).then(() => next()),
      expired(c),
    )
  }
}

/** All of `stream`, or `tooLarge()` as soon as it passes `maxBytes` (the rest is left unread). */
async function readAtMost(
  stream: ReadableStream<Uint8Array>,
  maxBytes: number,
  tooLarge: () => AppError,
): Promise<Uint8Array<ArrayBuffer>> {
  const reader = stream.getReader()
  const chunks: Uint8Array[] = []
  let length = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    length += value.byteLength
    if (length > maxBytes) throw tooLarge()
    chunks.push(value)
  }
  const bytes = new Uint8Array(length)
  let at = 0
  for (const chunk of chunks) {
    bytes.set(chunk, at)
    at += chunk.byteLength
  }
  return bytes
}

/**
 * `body` as a stream whose reads fail from `sever()` on, leaving `body` itself as it is (its
 * runtime drains or closes it once the answer has gone: cancelling it here could cut the answer).
 */
function severable(body: ReadableStream<Uint8Array>) {
  const reader = body.getReader()
  let sever: (error: Error) => void = () => {}
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      sever = (error) => controller.error(error)
    },
    async pull(controller) {
      const { done, value } = await reader.read()
      if (done) controller.close()
      else controller.enqueue(value)
    },
    cancel: (reason) => reader.cancel(reason),
  })
  return { stream, sever: (error: Error) => sever(error) }
}
