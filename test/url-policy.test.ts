/**
 * The URL policy end to end: `POST /upload-url` refuses each IPv6 form that carries a private or
 * metadata IPv4 address, written in the URL or answered by DNS, as the import and as its
 * callback_url, and queues nothing. Real HTTP, real Redis.
 */

import { createApp } from '@vpp/ingest'
import { createIngestMetrics, createLogger, createRegistry } from '@vpp/shared'
import { LocalUploadStorage } from '@vpp/shared/node'
import { startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Pipeline, startPipeline } from './harness.ts'

/** Written forms, each carrying a loopback, private or metadata IPv4 address. */
const FORMS = [
  '[::127.0.0.1]:9999',
  '[::169.254.169.254]',
  '[::10.0.0.1]',
  '[::ffff:127.0.0.1]',
  '[::ffff:0:127.0.0.1]',
  '[64:ff9b::7f00:1]',
  '[64:ff9b::169.254.169.254]',
  '[2002:7f00:1::]',
  '[2001:0:4136:e378:8000:63bf:80ff:fffe]',
]

let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let pipeline: Pipeline

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
  pipeline = await startPipeline(redis, `${dir.path}/data`, { URL_IMPORT_ALLOW_PRIVATE: 'false' })
})
afterAll(async () => {
  await pipeline?.close()
  await redis?.stop()
  await dir?.remove()
})

const importUrl = (base: string, body: Record<string, string>) =>
  fetch(`${base}/upload-url`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

describe('POST /upload-url and IPv6 forms that carry an IPv4 address', () => {
  it('refuses each, as the URL and as the callback_url, with 400 url_not_allowed, and queues nothing', async () => {
    for (const host of FORMS) {
      const parsed = new URL(`http://${host}/`).hostname
      const asUrl = await importUrl(pipeline.ingest, { url: `http://${host}/x.mp4` })
      expect(asUrl.status, host).toBe(400)
      expect(await asUrl.json(), host).toEqual({
        error: 'url_not_allowed',
        message: `${parsed} is not a public address`,
      })
      const asCallback = await importUrl(pipeline.ingest, {
        url: 'https://93.184.216.34/v.mp4',
        callback_url: `http://${host}/hook`,
      })
      expect(asCallback.status, host).toBe(400)
      expect((await asCallback.json()).error, host).toBe('url_not_allowed')
    }
    expect(await pipeline.store.client.xLen(pipeline.store.keys.stream)).toBe(0)
  })

  it('refuses a host name that resolves to one', async () => {
    const app = createApp({
      store: pipeline.store,
      storage: new LocalUploadStorage(`${dir.path}/uploads`),
      logger: createLogger({ service: 'ingest', level: 'silent' }),
      registry: createRegistry('ingest'),
      metrics: createIngestMetrics(createRegistry('ingest')),
      maxFileSize: 1024,
      // DNS answering AAAA records as getaddrinfo or c-ares would write them.
      resolveHost: async (host) => [host === 'mapped.example' ? '::ffff:7f00:1' : '::a9fe:a9fe'],
    })
    for (const host of ['mapped.example', 'compatible.example']) {
      const res = await app.request('/upload-url', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url: `http://${host}/x.mp4` }),
      })
      expect(res.status, host).toBe(400)
      expect((await res.json()).message, host).toMatch(`${host} resolves to`)
    }
    expect(await pipeline.store.client.xLen(pipeline.store.keys.stream)).toBe(0)
  })
})
