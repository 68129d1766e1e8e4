/** A minimal server-sent events client for tests: real HTTP, the stream parsed as it arrives. */

export interface SseEvent {
  event: string
  id: string
  data: Record<string, unknown>
}

export interface SseClient {
  /** Events so far. */
  readonly events: SseEvent[]
  /** Comment lines so far (keep-alives). */
  readonly comments: number
  /** The HTTP status of the answer. */
  readonly status: Promise<number>
  /** Resolves when the server ends the stream. */
  readonly ended: Promise<void>
  /** Wait until `count` events have arrived. */
  waitFor(count: number, timeoutMs?: number): Promise<SseEvent[]>
  close(): void
}

export function openSse(url: string, headers: Record<string, string> = {}): SseClient {
  const controller = new AbortController()
  const events: SseEvent[] = []
  let comments = 0
  let wake = () => {}
  let setStatus: (status: number) => void = () => {}
  const status = new Promise<number>((resolve) => {
    setStatus = resolve
  })
  const ended = (async () => {
    const res = await fetch(url, { headers, signal: controller.signal })
    setStatus(res.status)
    if (!res.body || res.status !== 200) return
    const decoder = new TextDecoder()
    let buffer = ''
    try {
      for await (const chunk of res.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true })
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const fields: Record<string, string> = {}
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments++
            const colon = line.indexOf(':')
            if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1).trimStart()
          }
          if (fields.data !== undefined) {
            events.push({
              event: fields.event ?? 'message',
              id: fields.id ?? '',
              data: JSON.parse(fields.data),
            })
          }
          wake()
        }
      }
    } catch (error) {
      if (!controller.signal.aborted) throw error
    }
  })().finally(() => wake())
  ended.catch(() => {})
  return {
    events,
    get comments() {
      return comments
    },
    status,
    ended,
    async waitFor(count, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs
      while (events.length < count) {
        if (Date.now() > deadline) {
          throw new Error(`${events.length} of ${count} events: ${events.map((e) => e.event).join(', ')}`)
        }
        // Woken by the next event (or the end), never polled.
        await Promise.race([
          new Promise<void>((resolve) => {
            wake = resolve
          }),
          new Promise((resolve) => setTimeout(resolve, 1000)),
          ended,
        ])
        if (events.length < count && (await Promise.race([ended.then(() => true), Promise.resolve(false)]))) {
          throw new Error(`the stream ended after ${events.length} of ${count} events`)
        }
      }
      return events.slice(0, count)
    },
    close: () => controller.abort(),
  }
}
