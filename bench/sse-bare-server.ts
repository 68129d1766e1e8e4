/**
 * The baseline of bench/sse.ts, independent of the project's code: a bare node:http server doing
 * the SSE job minimally. One blocking XREAD loop (node-redis `createClient`, its own connection)
 * on the event stream; each event is framed once (`event:`, `data:` JSON of type, job_id, status,
 * at, `id:`) and written to every open `GET /events` response; a keep-alive comment every 15 s.
 * No backlog, no resume, no tenancy, no backpressure.
 *
 *   node --import tsx bench/sse-bare-server.ts <port>   (env: REDIS_URL, REDIS_KEY_PREFIX)
 */
import { createServer, type ServerResponse } from 'node:http'
import { createClient } from 'redis'

const port = Number(process.argv[2])
const key = `${process.env.REDIS_KEY_PREFIX}:events`
const open = new Set<ServerResponse>()

const redis = createClient({ url: process.env.REDIS_URL })
await redis.connect()

createServer((req, res) => {
  if (req.url === '/healthz') return res.writeHead(200).end('ok')
  if (req.url !== '/events') return res.writeHead(404).end()
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
  res.flushHeaders()
  open.add(res)
  res.on('close', () => open.delete(res))
}).listen(port, '127.0.0.1')

setInterval(() => {
  for (const res of open) res.write(': keep-alive\n\n')
}, 15_000).unref()

process.on('SIGTERM', () => process.exit(0))

// `$` only for the first read: after that, from the last id seen (no gap between reads).
let last = '$'
for (;;) {
  const reply = (await redis.xRead({ key, id: last }, { BLOCK: 2000, COUNT: 1000 })) as Array<{
    messages: Array<{ id: string; message: Record<string, string> }>
  }> | null
  for (const { id, message } of reply?.[0]?.messages ?? []) {
    last = id
    const { type, job_id, status } = message
    const at = new Date(Number(id.slice(0, id.indexOf('-')))).toISOString()
    const frame = `event: ${type}\ndata: ${JSON.stringify({ type, job_id, status, at })}\nid: ${id}\n\n`
    for (const res of open) res.write(frame)
  }
}
