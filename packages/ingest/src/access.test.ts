import { createLogger, UploadResponseSchema } from '@vpp/shared'
import { describe, expect, it } from 'vitest'
import { form, mp4Bytes, useIngestFixture } from './test-fixture.ts'

const fixture = useIngestFixture()
const KEY = 'test-key-0123456789abcdef'
const OTHER = 'other-key-0123456789abcdef'
const bearer = (key: string) => ({ authorization: `Bearer ${key}` })

describe('API keys', () => {
  it('requires a valid key on job creation (401 JSON) but not on /healthz and /metrics', async () => {
    const lines: string[] = []
    const logger = createLogger({
      service: 'ingest',
      format: 'json',
      level: 'debug',
      write: (l) => lines.push(l),
    })
    const t = await fixture.makeApp({ apiKeys: [KEY, OTHER], logger })

    const none = await t.upload(form('a.mp4', mp4Bytes(100)))
    expect(none.status).toBe(401)
    expect(none.headers.get('www-authenticate')).toContain('Bearer')
    expect(await none.json()).toEqual({
      error: 'unauthorized',
      message: 'An API key is required: send Authorization: Bearer <key>',
    })
    const wrong = await t.importUrl({ url: 'https://cdn.example.com/a.mp4' }, bearer(`${KEY}x`))
    expect(wrong.status).toBe(401)
    expect(await wrong.json()).toEqual({ error: 'unauthorized', message: 'The API key is not valid' })
    const malformed = await t.upload(form('a.mp4', mp4Bytes(100)), { authorization: `Basic ${KEY}` })
    expect(malformed.status).toBe(400)
    expect(await t.files()).toEqual([])

    expect((await t.upload(form('a.mp4', mp4Bytes(100)), bearer(KEY))).status).toBe(202)
    expect((await t.importUrl({ url: 'https://cdn.example.com/a.mp4' }, bearer(OTHER))).status).toBe(202)
    expect((await t.app.request('/healthz')).status).toBe(200)
    expect((await t.app.request('/metrics')).status).toBe(200)
    const metrics = await (await t.app.request('/metrics')).text()
    expect(metrics).toMatch(/video_uploads_total\{status="unauthorized",service="ingest"\} 2/)
    expect(metrics).toMatch(/video_uploads_total\{status="bad_request",service="ingest"\} 1/)
    // Keys never reach the logs, not even the wrong one.
    expect(lines.join('')).not.toMatch(/0123456789abcdef/)
  })
})

describe('rate limit on job creation', () => {
  it('answers 429 with Retry-After past RATE_LIMIT_PER_MINUTE, per client', async () => {
    let address = '192.0.2.1'
    const t = await fixture.makeApp({ rateLimitPerMinute: 2, clientAddress: () => address })
    expect((await t.upload(form('a.mp4', mp4Bytes(100)))).status).toBe(202)
    expect((await t.importUrl({ url: 'https://cdn.example.com/a.mp4' })).status).toBe(202)
    const limited = await t.upload(form('a.mp4', mp4Bytes(100)))
    expect(limited.status).toBe(429)
    const retryAfter = Number(limited.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(retryAfter).toBeLessThanOrEqual(60)
    expect(await limited.json()).toEqual({
      error: 'rate_limited',
      message: `Too many jobs created: at most 2 a minute; retry in ${retryAfter}s`,
    })
    // Refused before the body was stored.
    expect(await t.files()).toHaveLength(1)
    // Another client is not held back by this one; reads are never limited.
    address = '192.0.2.2'
    expect((await t.upload(form('a.mp4', mp4Bytes(100)))).status).toBe(202)
    expect((await t.app.request('/healthz')).status).toBe(200)
    const metrics = await (await t.app.request('/metrics')).text()
    expect(metrics).toMatch(/video_uploads_total\{status="rate_limited",service="ingest"\} 1/)
  })

  it('counts per API key when keys are on, whatever the address', async () => {
    const t = await fixture.makeApp({
      rateLimitPerMinute: 1,
      apiKeys: [KEY, OTHER],
      clientAddress: () => '192.0.2.9',
    })
    expect((await t.importUrl({ url: 'https://cdn.example.com/1.mp4' }, bearer(KEY))).status).toBe(202)
    expect((await t.importUrl({ url: 'https://cdn.example.com/2.mp4' }, bearer(KEY))).status).toBe(429)
    expect((await t.importUrl({ url: 'https://cdn.example.com/3.mp4' }, bearer(OTHER))).status).toBe(202)
  })
})

describe('Idempotency-Key', () => {
  it('returns the first job for a repeated key instead of creating a second (uploads and URL imports)', async () => {
    const t = await fixture.makeApp()
    const first = await t.upload(form('a.mp4', mp4Bytes(100)), { 'idempotency-key': 'upload-1' })
    expect(first.status).toBe(202)
    const firstBody = UploadResponseSchema.parse(await first.json())
    const again = await t.upload(form('b.mp4', mp4Bytes(200)), { 'idempotency-key': 'upload-1' })
    expect(again.status).toBe(202)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(await again.json()).toEqual(firstBody)
    expect(await t.files()).toEqual([firstBody.job_id]) // the second body was not kept

    const url = { url: 'https://cdn.example.com/a.mp4' }
    const a = UploadResponseSchema.parse(
      await (await t.importUrl(url, { 'idempotency-key': 'import-1' })).json(),
    )
    const b = UploadResponseSchema.parse(
      await (await t.importUrl(url, { 'idempotency-key': 'import-1' })).json(),
    )
    expect(b.job_id).toBe(a.job_id)
    const other = await t.importUrl(url, { 'idempotency-key': 'import-2' })
    expect(UploadResponseSchema.parse(await other.json()).job_id).not.toBe(a.job_id)
    expect(await fixture.client.xLen(t.store.keys.stream)).toBe(3)
  })

  it('creates one job when two requests with the same key race', async () => {
    const t = await fixture.makeApp()
    const responses = await Promise.all(
      Array.from({ length: 5 }, () => t.upload(form('a.mp4', mp4Bytes(5000)), { 'idempotency-key': 'race' })),
    )
    const ids = new Set<string>()
    for (const res of responses) {
      expect(res.status).toBe(202)
      ids.add(UploadResponseSchema.parse(await res.json()).job_id)
    }
    expect(ids.size).toBe(1)
    expect(await fixture.client.xLen(t.store.keys.stream)).toBe(1)
    expect(await t.files()).toEqual([...ids])
  })

  it('refuses a key reused for a different URL (422) and a malformed key (400)', async () => {
    const t = await fixture.makeApp()
    await t.importUrl({ url: 'https://cdn.example.com/a.mp4' }, { 'idempotency-key': 'k' })
    const reused = await t.importUrl({ url: 'https://cdn.example.com/b.mp4' }, { 'idempotency-key': 'k' })
    expect(reused.status).toBe(422)
    expect((await reused.json()).error).toBe('idempotency_key_reused')
    const bad = await t.importUrl(
      { url: 'https://cdn.example.com/a.mp4' },
      { 'idempotency-key': 'has space' },
    )
    expect(bad.status).toBe(400)
  })

  it('keeps keys apart between client addresses when there are no API keys', async () => {
    let address = '192.0.2.1'
    const t = await fixture.makeApp({ clientAddress: () => address })
    const url = { url: 'https://cdn.example.com/a.mp4' }
    const jobOf = async (res: Response) => UploadResponseSchema.parse(await res.json()).job_id
    const mine = await jobOf(await t.importUrl(url, { 'idempotency-key': 'same' }))
    const again = await t.importUrl(url, { 'idempotency-key': 'same' })
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(await jobOf(again)).toBe(mine)
    // Another client choosing the same key gets a job of its own, not the first client's.
    address = '198.51.100.7'
    const theirs = await t.importUrl(url, { 'idempotency-key': 'same' })
    expect(theirs.headers.get('idempotent-replayed')).toBeNull()
    expect(await jobOf(theirs)).not.toBe(mine)
    const upload = await t.upload(form('a.mp4', mp4Bytes(100)), { 'idempotency-key': 'upload' })
    address = '192.0.2.1'
    const otherUpload = await t.upload(form('a.mp4', mp4Bytes(100)), { 'idempotency-key': 'upload' })
    expect(await jobOf(otherUpload)).not.toBe(await jobOf(upload))
    expect(await fixture.client.xLen(t.store.keys.stream)).toBe(4)
  })

  it('keeps keys apart between API keys', async () => {
    const t = await fixture.makeApp({ apiKeys: [KEY, OTHER] })
    const url = { url: 'https://cdn.example.com/a.mp4' }
    const mine = await t.importUrl(url, { ...bearer(KEY), 'idempotency-key': 'same' })
    const theirs = await t.importUrl(url, { ...bearer(OTHER), 'idempotency-key': 'same' })
    expect((await mine.json()).job_id).not.toBe((await theirs.json()).job_id)
  })
})

describe('TRUST_PROXY: forwarded headers', () => {
  const forged = {
    'X-Forwarded-Host': 'evil.example',
    'X-Forwarded-Proto': 'https',
    Forwarded: 'host=evil.example;proto=https',
  }
  const create = (url: string, headers: Record<string, string> = {}) =>
    fetch(`${url}/uploads`, {
      method: 'POST',
      headers: { 'Tus-Resumable': '1.0.0', 'Upload-Length': '1000', ...headers },
    })
  const importUrl = (url: string, headers: Record<string, string>) =>
    fetch(`${url}/upload-url`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ url: 'https://93.184.216.34/a.mp4' }),
    })

  it('ignores them without TRUST_PROXY: Location names the host asked, and the socket address is the client', async () => {
    const ingest = await fixture.serve({ RATE_LIMIT_PER_MINUTE: '2' })
    try {
      const created = await create(ingest.url, forged)
      expect(created.status).toBe(201)
      expect(created.headers.get('location')).toMatch(new RegExp(`^${ingest.url}/uploads/[0-9a-f-]{36}$`))
      // Another X-Forwarded-For each time buys nothing: all come from 127.0.0.1.
      expect((await importUrl(ingest.url, { 'X-Forwarded-For': '192.0.2.1' })).status).toBe(202)
      const limited = await importUrl(ingest.url, { 'X-Forwarded-For': '192.0.2.2' })
      expect(limited.status).toBe(429)
    } finally {
      await ingest.close()
    }
  })

  it('honours them with TRUST_PROXY: Location names the forwarded host, and the proxy says who the client is', async () => {
    const ingest = await fixture.serve({ RATE_LIMIT_PER_MINUTE: '1', TRUST_PROXY: 'true' })
    try {
      const asked = { ...forged, 'X-Forwarded-For': '192.0.2.1', 'Idempotency-Key': 'proxied-1' }
      const created = await create(ingest.url, asked)
      expect(created.status).toBe(201)
      const location = created.headers.get('location')
      expect(location).toMatch(/^https:\/\/evil\.example\/uploads\/[0-9a-f-]{36}$/)
      // Its replay names the same place.
      const replayed = await create(ingest.url, asked)
      expect(replayed.headers.get('idempotent-replayed')).toBe('true')
      expect(replayed.headers.get('location')).toBe(location)
      // The address the proxy appended (the last one) counts, not one the client wrote before it.
      const other = await importUrl(ingest.url, { 'X-Forwarded-For': '192.0.2.1, 198.51.100.7' })
      expect(other.status).toBe(202)
      const again = await importUrl(ingest.url, { 'X-Forwarded-For': '203.0.113.9, 198.51.100.7' })
      expect(again.status).toBe(429)
    } finally {
      await ingest.close()
    }
  })
})
