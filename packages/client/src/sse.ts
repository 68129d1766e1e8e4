/**
 * A minimal server-sent events parser, as the HTML standard's "event stream interpretation"
 * describes it: lines end in CRLF, LF or CR; `:` starts a comment; `data` lines are joined with
 * newlines; a blank line dispatches an event that has data; `id` (ignored if it holds a NUL) and
 * `retry` (digits only) last from one event to the next; an event the stream ends in the middle
 * of is dropped. Text in, events out, no I/O: `readSse` feeds it from a fetch body.
 */

export interface SseMessage {
  /** `event:`, or `message`. */
  event: string
  data: string
  /** The last `id:` seen so far (what `Last-Event-ID` carries on a reconnect); '' for none. */
  id: string
  /** The last `retry:` seen so far: the reconnection time the server asks for, in milliseconds. */
  retry?: number
}

export class SseParser {
  #buffer = ''
  #first = true
  #event = ''
  #data: string[] = []
  #id = ''
  #retry: number | undefined

  /** The last event id seen (kept across events). */
  get lastEventId(): string {
    return this.#id
  }

  /** Events completed by `text`. */
  push(text: string): SseMessage[] {
    this.#buffer += text
    if (this.#first && this.#buffer.length > 0) {
      this.#first = false
      if (this.#buffer.startsWith('\uFEFF')) this.#buffer = this.#buffer.slice(1)
    }
    const out: SseMessage[] = []
    let start = 0
    for (;;) {
      const cr = this.#buffer.indexOf('\r', start)
      const lf = this.#buffer.indexOf('\n', start)
      if (cr < 0 && lf < 0) break
      const end = cr < 0 ? lf : lf < 0 ? cr : Math.min(cr, lf)
      // A CR at the very end may be the first half of a CRLF: wait for the next chunk.
      if (end === cr && cr === this.#buffer.length - 1) break
      const line = this.#buffer.slice(start, end)
      start = end + (end === cr && this.#buffer[cr + 1] === '\n' ? 2 : 1)
      const message = this.#line(line)
      if (message) out.push(message)
    }
    this.#buffer = this.#buffer.slice(start)
    return out
  }

  /** The stream ended: a trailing CR ends its line; an event not yet dispatched is dropped. */
  end(): SseMessage[] {
    const out = this.#buffer.endsWith('\r') ? this.push('\n') : []
    this.#buffer = ''
    this.#event = ''
    this.#data = []
    return out
  }

  #line(line: string): SseMessage | undefined {
    if (line === '') return this.#dispatch()
    if (line.startsWith(':')) return undefined
    const colon = line.indexOf(':')
    const field = colon < 0 ? line : line.slice(0, colon)
    let value = colon < 0 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'event') this.#event = value
    else if (field === 'data') this.#data.push(value)
    else if (field === 'id' && !value.includes('\0')) this.#id = value
    else if (field === 'retry' && /^\d+$/.test(value)) this.#retry = Number(value)
    return undefined
  }

  #dispatch(): SseMessage | undefined {
    const event = this.#event || 'message'
    const data = this.#data
    this.#event = ''
    this.#data = []
    if (data.length === 0) return undefined
    const message: SseMessage = { event, data: data.join('\n'), id: this.#id }
    if (this.#retry !== undefined) message.retry = this.#retry
    return message
  }
}

/**
 * The events of an SSE body as they arrive. Ends when the body does; leaving the loop early
 * cancels the body (and so closes the connection).
 */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseMessage> {
  const parser = new SseParser()
  const decoder = new TextDecoder()
  const reader = body.getReader()
  let done = false
  try {
    for (;;) {
      const chunk = await reader.read()
      if (chunk.done) {
        done = true
        yield* parser.push(decoder.decode())
        yield* parser.end()
        return
      }
      yield* parser.push(decoder.decode(chunk.value, { stream: true }))
    }
  } finally {
    if (!done) await reader.cancel().catch(() => {})
    reader.releaseLock()
  }
}
