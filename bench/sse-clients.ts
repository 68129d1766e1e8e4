/**
 * SSE clients for bench/sse.ts, in a process of their own: `clients` concurrent `GET /events`
 * streams (node:http, no keep-alive agent), each read minimally: only the `id:` lines, stamped
 * with the time their chunk arrived. Latency of an event at a client = that time - the ms part of
 * its stream id (Redis's clock when it was appended; the same machine's clock).
 *
 *   node --import tsx bench/sse-clients.ts <port> <clients>   (forked, IPC with advanced serialization)
 *
 * Messages: sends `{ type: 'connected' }` once every stream has its 200; on `{ type: 'finish', ids }`
 * (the ids every client should have had) waits until each client has that many ids or 5 s, then
 * answers `{ type: 'result', latencies, missed, duplicated, unexpected, dropped }` and closes.
 */
import { type ClientRequest, request } from 'node:http'

const [port, count] = process.argv.slice(2).map(Number) as [number, number]
/** Streams being opened at once (the listen backlog is 511; past it connections wait for SYN retries). */
const OPENING = 50
const FINISH_TIMEOUT_MS = 5000

/** Every event id seen by any client, interned: id -> index, and each one's ms. */
const index = new Map<string, number>()
const names: string[] = []
const idMs: number[] = []
/** Per client, the indexes of the ids it got, in arrival order. */
const got: number[][] = []
let latencies = new Float64Array(1 << 16)
let samples = 0
let received = 0
let dropped = 0
const requests: ClientRequest[] = []
let onReceived = () => {}

function record(client: number, id: string, at: number) {
  let i = index.get(id)
  if (i === undefined) {
    i = idMs.length
    index.set(id, i)
    names.push(id)
    idMs.push(Number(id.slice(0, id.indexOf('-'))))
  }
  got[client]?.push(i)
  if (samples === latencies.length) {
    const grown = new Float64Array(latencies.length * 2)
    grown.set(latencies)
    latencies = grown
  }
  latencies[samples++] = at - (idMs[i] as number)
  received++
}

function open(client: number): Promise<void> {
  return new Promise((resolve, reject) => {
    got[client] = []
    const req = request(
      { host: '127.0.0.1', port, path: '/events', agent: false, headers: { accept: 'text/event-stream' } },
      (res) => {
        if (res.statusCode !== 200) return reject(new Error(`client ${client}: HTTP ${res.statusCode}`))
        res.setEncoding('utf8')
        let rest = ''
        res.on('data', (chunk: string) => {
          // One stamp per chunk: every frame in it arrived together (sub-ms, wall clock).
          const at = performance.timeOrigin + performance.now()
          const text = rest + chunk
          const end = text.lastIndexOf('\n') + 1
          rest = text.slice(end)
          for (let at0 = text.indexOf('id: '); at0 !== -1 && at0 < end; at0 = text.indexOf('id: ', at0 + 4)) {
            if (at0 > 0 && text[at0 - 1] !== '\n') continue
            record(client, text.slice(at0 + 4, text.indexOf('\n', at0)), at)
          }
          onReceived()
        })
        res.on('close', () => {
          if (!finished) dropped++
        })
        resolve()
      },
    )
    req.on('error', (error) => {
      if (!finished) reject(error)
    })
    req.end()
    requests.push(req)
  })
}

let finished = false
let next = 0
await Promise.all(
  Array.from({ length: Math.min(OPENING, count) }, async () => {
    while (next < count) await open(next++)
  }),
).then(
  () => process.send?.({ type: 'connected' }),
  (error: unknown) => {
    process.send?.({ type: 'error', message: String(error) })
    process.exit(1)
  },
)

process.on('message', (message: { type: string; ids: string[] }) => {
  if (message.type !== 'finish') return
  const expected = message.ids
  const report = () => {
    clearTimeout(timer)
    onReceived = () => {}
    finished = true
    const want = new Map(expected.map((id, i) => [id, i]))
    let missed = 0
    let duplicated = 0
    let unexpected = 0
    for (const ids of got) {
      const seen = new Uint16Array(expected.length)
      for (const i of ids) {
        const at = want.get(names[i] ?? '')
        if (at === undefined) {
          unexpected++
          continue
        }
        if (seen[at]) duplicated++
        seen[at] = (seen[at] ?? 0) + 1
      }
      missed += seen.filter((n) => n === 0).length
    }
    process.send?.(
      { type: 'result', latencies: latencies.slice(0, samples), missed, duplicated, unexpected, dropped },
      () => {
        for (const req of requests) req.destroy()
        process.exit(0)
      },
    )
  }
  const timer = setTimeout(report, FINISH_TIMEOUT_MS)
  onReceived = () => {
    if (received >= count * expected.length) report()
  }
  onReceived()
})
