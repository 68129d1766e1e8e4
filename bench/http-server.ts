/**
 * One HTTP server for bench/http.ts, in its own process: `hono` is the status service itself
 * (startStatus: Hono on @hono/node-server, request logs, metrics, API-key middleware), `bare` a
 * plain node:http handler over a plain node-redis client, independent of the code it judges (no
 * JobStore, no @vpp/shared): for each route the Redis commands the status service sends (seen
 * with `redis-cli MONITOR`), and JSON.stringify of about the same body.
 *
 *   GET /jobs/{id}  HGETALL <prefix>:job:{id}
 *   GET /stats      XLEN jobs, XPENDING jobs transcoders, XLEN dlq, GET stats:total,
 *                   HGETALL stats:status, ZCOUNT stats:finished (one pipeline: issued in one tick)
 *   GET /jobs       ZRANGE index:all +inf -inf BYSCORE REV LIMIT 0 21 WITHSCORES, then 20 HGETALL
 *
 *   node --import tsx bench/http-server.ts hono|bare <port>   (env: REDIS_URL, REDIS_KEY_PREFIX)
 */
import { createServer, type ServerResponse } from 'node:http'

const [mode, port] = process.argv.slice(2)
const env: NodeJS.ProcessEnv = { ...process.env, STATUS_PORT: port, HOST: '127.0.0.1' }

if (mode === 'hono') {
  const { createLogger } = await import('@vpp/shared')
  const { loadConfig, startStatus } = await import('@vpp/status')
  await startStatus(loadConfig(env), createLogger({ service: 'status', format: 'json' }))
} else {
  const { createClient } = await import('redis')
  const prefix = env.REDIS_KEY_PREFIX ?? 'vpp'
  const redis = createClient({ url: env.REDIS_URL })
  await redis.connect()
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  }
  /** A job hash as the API shows it: the public fields only, numbers as numbers, JSON fields parsed. */
  const job = (h: Record<string, string>) => {
    if (!h.job_id) return null
    const parsed = (text: string | undefined) => (text ? JSON.parse(text) : undefined)
    const number = (text: string | undefined) => (text === undefined ? undefined : Number(text))
    return {
      job_id: h.job_id,
      filename: h.filename,
      source: h.source,
      source_url: h.source_url,
      status: h.status,
      profiles: parsed(h.profiles),
      metadata: parsed(h.metadata),
      callback_url: h.callback_url,
      created_at: h.created_at,
      updated_at: h.updated_at,
      attempts: Number(h.attempts ?? 0),
      error: h.error,
      error_code: h.error_code,
      next_attempt_at: h.next_attempt_at,
      progress: number(h.progress),
      eta_seconds: number(h.eta_seconds),
      outputs: parsed(h.outputs) ?? [],
      expired_at: h.expired_at,
      skipped: parsed(h.skipped),
    }
  }
  const stats = async () => {
    const now = Date.now()
    const [length, pending, dlq, total, counts, finished] = await Promise.all([
      redis.xLen(`${prefix}:jobs`),
      redis.xPending(`${prefix}:jobs`, 'transcoders'),
      redis.xLen(`${prefix}:dlq`),
      redis.get(`${prefix}:stats:total`),
      redis.hGetAll(`${prefix}:stats:status`),
      redis.zCount(`${prefix}:stats:finished`, now - 300_000, now),
    ])
    const byStatus: Record<string, number> = {}
    for (const [status, count] of Object.entries(counts))
      if (Number(count) > 0) byStatus[status] = Number(count)
    return {
      queue_depth: Math.max(0, length - pending.pending),
      dlq_depth: dlq,
      total_jobs: Number(total ?? 0),
      jobs_by_status: byStatus,
      processing_rate_per_minute: Math.round((finished / 5) * 100) / 100,
    }
  }
  const list = async (limit: number) => {
    const entries = await redis.zRangeWithScores(`${prefix}:index:all`, '+inf', '-inf', {
      BY: 'SCORE',
      REV: true,
      LIMIT: { offset: 0, count: limit + 1 },
    })
    const page = entries.slice(0, limit)
    const hashes = await Promise.all(page.map((e) => redis.hGetAll(`${prefix}:job:${e.value}`)))
    return {
      jobs: hashes.map(job).filter((j) => j !== null),
      next_cursor: entries.length > limit ? String(page.at(-1)?.score) : null,
    }
  }
  createServer(async (req, res) => {
    try {
      const url = req.url ?? ''
      if (url === '/stats') return json(res, 200, await stats())
      if (url === '/jobs' || url.startsWith('/jobs?')) {
        return json(res, 200, await list(Number(new URLSearchParams(url.slice(6)).get('limit') ?? 20)))
      }
      if (url.startsWith('/jobs/')) {
        const found = job(await redis.hGetAll(`${prefix}:job:${url.slice('/jobs/'.length)}`))
        return found ? json(res, 200, found) : json(res, 404, { error: 'not_found' })
      }
      json(res, 404, { error: 'not_found' })
    } catch {
      json(res, 500, { error: 'internal_error' })
    }
  }).listen(Number(port), '127.0.0.1')
}
process.send?.('ready')
process.on('SIGTERM', () => process.exit(0))
