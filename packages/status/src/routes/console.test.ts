/**
 * The console as status serves it (built here if no earlier run did): the page open without a
 * key while the API needs one, its script and stylesheet gzipped and revalidated by ETag,
 * hls.js, the settings, its size budget, and the whole app only when enabled.
 */
import { gzipSync } from 'node:zlib'
import { consoleAssets } from '@vpp/console'
import { buildConsole } from '@vpp/console/build'
import {
  closeRedis,
  connectRedis,
  createLogger,
  createRegistry,
  JobStore,
  type RedisClient,
  redisKeys,
} from '@vpp/shared'
import { pageAssets, startTestRedis, type TestRedis } from '@vpp/shared/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../app.ts'
import { MediaSigner } from '../media-token.ts'
import { ConsoleConfigSchema } from './console.ts'

const KEY = 'console-test-key-0123456789'
let redis: TestRedis
let client: RedisClient

const app = (console?: { ingestUrl?: string }) =>
  createApp({
    store: new JobStore(client, redisKeys(redis.prefix())),
    logger: createLogger({ service: 'status', level: 'silent' }),
    registry: createRegistry('status'),
    apiKeys: [KEY],
    signer: new MediaSigner('s'.repeat(32), 3600),
    console,
  })

beforeAll(async () => {
  if (!(await consoleAssets())) await buildConsole()
  redis = await startTestRedis()
  client = await connectRedis(redis.url, createLogger({ service: 'test', level: 'silent' }))
})
afterAll(async () => {
  await closeRedis(client)
  await redis.stop()
})

describe('the console at /', () => {
  it('serves the page and its files without a key, while the API asks for one', async () => {
    const status = app({ ingestUrl: 'http://ingest.example:8000' })
    const page = await status.request('/')
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8')
    const html = await page.text()
    expect(html).not.toMatch(/https?:/) // nothing from elsewhere
    expect(pageAssets(html)).toEqual(['console/app.js', 'console/app.css'])
    for (const [path, type] of [
      ['/console/app.js', 'text/javascript; charset=utf-8'],
      ['/console/app.css', 'text/css; charset=utf-8'],
      ['/console/hls.js', 'text/javascript; charset=utf-8'],
    ] as const) {
      const res = await status.request(path)
      expect(res.status, path).toBe(200)
      expect(res.headers.get('content-type'), path).toBe(type)
      expect((await res.arrayBuffer()).byteLength, path).toBeGreaterThan(1000)
    }
    expect((await status.request('/jobs')).status).toBe(401)
    const other = await status.request('/console/other.js')
    expect(other.status).toBe(404)
    expect(await other.json()).toMatchObject({ error: 'not_found' })
  })

  it('answers gzip to a client that takes it, and 304 to an ETag still current', async () => {
    const status = app({})
    const plain = await status.request('/console/app.js')
    const gzip = await status.request('/console/app.js', { headers: { 'Accept-Encoding': 'gzip, br' } })
    expect(gzip.headers.get('content-encoding')).toBe('gzip')
    expect(gzip.headers.get('vary')).toBe('Accept-Encoding')
    expect(gzip.headers.get('cache-control')).toBe('no-cache')
    const etag = plain.headers.get('etag') ?? ''
    expect(etag).toMatch(/^"[0-9a-f]{24}"$/)
    expect(gzip.headers.get('etag')).toBe(etag)
    const bytes = new Uint8Array(await plain.arrayBuffer())
    expect(gzipSync(bytes).length).toBeLessThan(bytes.length)
    const again = await status.request('/console/app.js', { headers: { 'If-None-Match': etag } })
    expect(again.status).toBe(304)
    expect((await again.arrayBuffer()).byteLength).toBe(0)
  })

  it('tells the page where ingest is, whether keys are on, and the profiles', async () => {
    const res = await app({ ingestUrl: 'http://ingest.example:8000' }).request('/console/config.json')
    expect(res.status).toBe(200)
    const config = ConsoleConfigSchema.parse(await res.json())
    expect(config).toEqual({
      ingest_url: 'http://ingest.example:8000',
      ingest_port: 8000,
      keys: true,
      profiles: [
        '1440p',
        '1080p',
        '720p',
        '480p',
        '360p',
        'thumbnail',
        'webm_720p',
        'hls',
        'storyboard',
        'audio',
        'original',
        'webm_original',
      ],
      statuses: ['queued', 'processing', 'retrying', 'completed', 'failed', 'canceled', 'expired'],
    })
    expect(await (await app({}).request('/console/config.json')).json()).toMatchObject({ ingest_url: null })
  })

  it('keeps its own script and stylesheet within 200 KB gzipped (hls.js aside)', async () => {
    const sizes = await buildConsole()
    const own = (sizes['app.js']?.gzipped ?? 0) + (sizes['app.css']?.gzipped ?? 0)
    expect(own).toBeGreaterThan(10_000)
    expect(own).toBeLessThan(200 * 1024)
  })

  it('is absent when CONSOLE_ENABLED is off', async () => {
    const res = await app(undefined).request('/', { headers: { Authorization: `Bearer ${KEY}` } })
    expect(res.status).toBe(404)
  })
})
