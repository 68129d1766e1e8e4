/**
 * One HTTP server for bench/http.ts, in its own process: `hono` is the status service itself
 * (startStatus: Hono on @hono/node-server, request logs, metrics, API-key middleware), `bare` a
 * plain node:http handler doing the same Redis reads with the same JobStore and client.
 *
 *   node --import tsx bench/http-server.ts hono|bare <port>   (env: REDIS_URL, REDIS_KEY_PREFIX)
 */
import { createServer } from 'node:http'
import { createLogger, openJobStore } from '@vpp/shared'
import { loadConfig, startStatus } from '@vpp/status'

const [mode, port] = process.argv.slice(2)
const env = { ...process.env, STATUS_PORT: port, HOST: '127.0.0.1' }

if (mode === 'hono') {
  await startStatus(loadConfig(env), createLogger({ service: 'status', format: 'json' }))
} else {
  const config = loadConfig(env)
  const store = await openJobStore(config, createLogger({ service: 'bare', level: 'warn' }))
  const json = (res: import('node:http').ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  }
  createServer(async (req, res) => {
    try {
      const url = req.url ?? ''
      if (url === '/stats') return json(res, 200, await store.stats.read(new Date()))
      if (url === '/jobs' || url.startsWith('/jobs?')) {
        const page = await store.list({ limit: Number(new URLSearchParams(url.slice(6)).get('limit') ?? 20) })
        return json(res, 200, { jobs: page.jobs, next_cursor: page.nextCursor })
      }
      if (url.startsWith('/jobs/')) {
        const job = await store.get(url.slice('/jobs/'.length))
        return job ? json(res, 200, job) : json(res, 404, { error: 'not_found' })
      }
      json(res, 404, { error: 'not_found' })
    } catch {
      json(res, 500, { error: 'internal_error' })
    }
  }).listen(Number(port), '127.0.0.1')
}
process.send?.('ready')
process.on('SIGTERM', () => process.exit(0))
