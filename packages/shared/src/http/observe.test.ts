import { Hono } from 'hono'
import { TrieRouter } from 'hono/router/trie-router'
import { describe, expect, it } from 'vitest'
import { createLogger } from '../logger.ts'
import { createHttpMetrics, createRegistry } from '../metrics.ts'
import { observeRequests } from './observe.ts'

function app() {
  const lines: Array<Record<string, unknown>> = []
  const logger = createLogger({
    service: 'test',
    format: 'json',
    level: 'debug',
    write: (line) => lines.push(JSON.parse(line)),
  })
  const registry = createRegistry('test')
  const app = new Hono()
  app.use(observeRequests(logger, createHttpMetrics(registry)))
  app.get('/jobs/:job_id', (c) => c.json({ id: c.req.param('job_id') }))
  app.get('/boom', () => {
    throw new Error('boom')
  })
  app.get('/metrics', (c) => c.text('ok'))
  app.onError((_e, c) => c.json({ error: 'internal_error' }, 500))
  return { app, lines, registry }
}

describe('observeRequests', () => {
  it('logs one JSON line per request with a request id that is also the X-Request-Id header', async () => {
    const { app: a, lines } = app()
    const res = await a.request('/jobs/4f9c', { headers: { authorization: 'Bearer secret-key-0123456789' } })
    const id = res.headers.get('x-request-id')
    expect(id).toMatch(/^[0-9a-f-]{36}$/)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({
      level: 'info',
      service: 'test',
      msg: 'request',
      request_id: id,
      method: 'GET',
      route: '/jobs/:job_id',
      status: 200,
    })
    expect(typeof lines[0]?.duration_ms).toBe('number')
    expect(typeof lines[0]?.time).toBe('string')
    expect(JSON.stringify(lines)).not.toContain('secret-key')
  })

  it("keeps a caller's request id, logs errors at error level and scrapes at debug", async () => {
    const { app: a, lines } = app()
    const res = await a.request('/jobs/1', { headers: { 'x-request-id': 'trace-abc-123' } })
    expect(res.headers.get('x-request-id')).toBe('trace-abc-123')
    expect(lines[0]?.request_id).toBe('trace-abc-123')
    await a.request('/boom')
    expect(lines[1]).toMatchObject({ level: 'error', route: '/boom', status: 500 })
    await a.request('/metrics')
    expect(lines[2]).toMatchObject({ level: 'debug', route: '/metrics' })
  })

  it('observes http_request_duration_seconds by route pattern and status, never by path', async () => {
    const { app: a, registry } = app()
    await a.request('/jobs/aaa')
    await a.request('/jobs/bbb')
    await a.request('/nope')
    const text = await registry.metrics()
    expect(text).toContain(
      'http_request_duration_seconds_count{service="test",method="GET",route="/jobs/:job_id",status="200"} 2',
    )
    expect(text).toContain(
      'http_request_duration_seconds_count{service="test",method="GET",route="unmatched",status="404"} 1',
    )
    expect(text).not.toMatch(/aaa|bbb|nope/)
  })

  it('labels unknown HTTP methods `other`, so a client cannot mint label values', async () => {
    const { app: a, registry, lines } = app()
    for (const method of ['PROPFIND', 'MKCOL', 'COPY', 'PURGE']) await a.request('/jobs/1', { method })
    await a.request('/jobs/1', { method: 'DELETE' })
    await a.request('/jobs/1', { method: 'OPTIONS' })
    const text = await registry.metrics()
    expect(text).toContain(
      'http_request_duration_seconds_count{service="test",method="other",route="unmatched",status="404"} 4',
    )
    for (const method of ['DELETE', 'OPTIONS']) {
      expect(text).toContain(`http_request_duration_seconds_count{service="test",method="${method}"`)
    }
    expect(text).not.toMatch(/PROPFIND|MKCOL|COPY|PURGE/)
    // The log line still says what was sent.
    expect(lines[0]).toMatchObject({ method: 'PROPFIND', route: 'unmatched', status: 404 })
  })

  it('labels each request with its own route, whichever router matched it', async () => {
    for (const trie of [false, true]) {
      const lines: Array<Record<string, unknown>> = []
      const logger = createLogger({
        service: 't',
        format: 'json',
        write: (line) => lines.push(JSON.parse(line)),
      })
      const registry = createRegistry('t')
      const a = trie ? new Hono({ router: new TrieRouter() }) : new Hono()
      a.use(observeRequests(logger, createHttpMetrics(registry)))
      a.use('/jobs/*', async (c, next) => (c.req.header('x-deny') ? c.json({}, 401) : next()))
      a.get('/jobs/:job_id', (c) => c.json({}))
      a.get('/jobs/:job_id/events', (c) => c.json({}))
      a.get('/stats', (c) => c.json({}))
      for (const path of [
        '/jobs/a',
        '/stats',
        '/jobs/b/events',
        '/jobs/c',
        '/nope',
        '/jobs/d/events',
        '/stats',
      ]) {
        await a.request(path)
      }
      await a.request('/jobs/e', { headers: { 'x-deny': '1' } })
      expect(lines.map((line) => `${line.route} ${line.status}`)).toEqual([
        '/jobs/:job_id 200',
        '/stats 200',
        '/jobs/:job_id/events 200',
        '/jobs/:job_id 200',
        'unmatched 404',
        '/jobs/:job_id/events 200',
        '/stats 200',
        '/jobs/:job_id 401',
      ])
      const text = await registry.metrics()
      expect(text).toContain(
        'http_request_duration_seconds_count{service="t",method="GET",route="/stats",status="200"} 2',
      )
      expect(text).toContain(
        'http_request_duration_seconds_count{service="t",method="GET",route="/jobs/:job_id",status="401"} 1',
      )
    }
  })
})
