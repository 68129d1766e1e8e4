import { readdir, readFile } from 'node:fs/promises'
import {
  closeRedis,
  connectRedis,
  createIngestMetrics,
  createLogger,
  createRegistry,
  JobStore,
  type RedisClient,
  redisKeys,
  UploadResponseSchema,
} from '@vpp/shared'
import { LocalUploadStorage } from '@vpp/shared/node'
import { startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createApp } from './app.ts'

let redis: TestRedis
let client: RedisClient
let dir: Awaited<ReturnType<typeof tempDir>>

beforeAll(async () => {
  redis = await startTestRedis()
  client = await connectRedis(redis.url, createLogger({ service: 'test', level: 'silent' }))
  dir = await tempDir()
})
afterAll(async () => {
  await closeRedis(client)
  await redis.stop()
  await dir.remove()
})

const MAX = 64 * 1024
let store: JobStore
let uploadDir: string
let app: ReturnType<typeof createApp>
let ids = 0

beforeEach(async () => {
  store = new JobStore(client, redisKeys(redis.prefix()))
  await store.ensureGroup()
  uploadDir = `${dir.path}/${redis.prefix()}`
  const registry = createRegistry('ingest')
  app = createApp({
    store,
    storage: new LocalUploadStorage(uploadDir),
    logger: createLogger({ service: 'ingest', level: 'silent' }),
    registry,
    metrics: createIngestMetrics(registry),
    maxFileSize: MAX,
    newId: () => `00000000-0000-0000-0000-${String(++ids).padStart(12, '0')}`,
  })
})

function form(name: string, bytes: Uint8Array<ArrayBuffer> | string, field = 'file'): FormData {
  const data = new FormData()
  data.append('title', 'ignored field')
  data.append(field, new Blob([bytes]), name)
  return data
}

const upload = (body: FormData | string, headers: Record<string, string> = {}) =>
  app.request('/upload', { method: 'POST', body, headers })

const files = async () => readdir(uploadDir).catch(() => [] as string[])

describe('POST /upload', () => {
  it('stores the file under a generated name, queues a job and answers 202 with the seed body', async () => {
    const bytes = new Uint8Array(40_000).map((_, i) => i % 251)
    const res = await upload(form('../../holiday video.mp4', bytes))
    expect(res.status).toBe(202)
    const body = UploadResponseSchema.parse(await res.json())
    expect(body).toMatchObject({ filename: 'holiday video.mp4', status: 'queued' })
    expect(await files()).toEqual([body.job_id])
    expect(new Uint8Array(await readFile(`${uploadDir}/${body.job_id}`))).toEqual(bytes)
    expect(await store.get(body.job_id)).toMatchObject({
      status: 'queued',
      source: 'upload',
      created_at: body.created_at,
    })
    expect(await client.xLen(store.keys.stream)).toBe(1)
  })

  it('refuses a file over MAX_FILE_SIZE with 413 and keeps nothing', async () => {
    const res = await upload(form('big.mp4', new Uint8Array(MAX + 1)))
    expect(res.status).toBe(413)
    expect(await res.json()).toEqual({ error: 'file_too_large', message: 'File too large' })
    expect(await files()).toEqual([])
    expect(await client.xLen(store.keys.stream)).toBe(0)
  })

  it('refuses an honest Content-Length over the limit before reading the body', async () => {
    const res = await upload('x', {
      'content-type': 'multipart/form-data; boundary=abc',
      'content-length': String(10 * MAX),
    })
    expect(res.status).toBe(413)
    expect((await res.json()).message).toBe('File too large')
  })

  it('refuses other file types with 415', async () => {
    for (const name of ['notes.txt', 'video', 'clip.mp4.exe']) {
      const res = await upload(form(name, 'hello'))
      expect(res.status, name).toBe(415)
      expect(await res.json()).toEqual({ error: 'invalid_file_type', message: 'Invalid file type' })
    }
    expect(await files()).toEqual([])
  })

  it('answers 400 for a body that is not multipart or has no file field', async () => {
    const notMultipart = await upload('{"file":1}', { 'content-type': 'application/json' })
    expect(notMultipart.status).toBe(400)
    expect((await notMultipart.json()).error).toBe('bad_request')

    const noFile = await upload(form('a.mp4', 'x', 'video'))
    expect(noFile.status).toBe(400)
    expect(await noFile.json()).toEqual({
      error: 'bad_request',
      message: 'Missing multipart field "file" with the video file',
    })

    const truncated = await upload(
      '--abc\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n\r\npartial',
      {
        'content-type': 'multipart/form-data; boundary=abc',
      },
    )
    expect(truncated.status).toBe(400)
    expect(await files()).toEqual([])
  })
})

describe('when Redis is down', () => {
  it('answers 503 instead of 202 and keeps no file', async () => {
    const gone = await connectRedis(redis.url, createLogger({ service: 'test', level: 'silent' }))
    await closeRedis(gone)
    const registry = createRegistry('ingest')
    const down = createApp({
      store: new JobStore(gone, store.keys),
      storage: new LocalUploadStorage(uploadDir),
      logger: createLogger({ service: 'ingest', level: 'silent' }),
      registry,
      metrics: createIngestMetrics(registry),
      maxFileSize: MAX,
    })
    const res = await down.request('/upload', { method: 'POST', body: form('a.mp4', 'x') })
    expect(res.status).toBe(503)
    expect(await res.json()).toEqual({
      error: 'unavailable',
      message: 'The job store is unavailable; try again shortly',
    })
    expect(await files()).toEqual([])
  })
})

describe('POST /upload-url', () => {
  const importUrl = (body: unknown) =>
    app.request('/upload-url', {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    })

  it('queues an http(s) URL import with the seed body', async () => {
    const res = await importUrl({ url: 'https://media.example.com/v/My%20Clip.mov?token=1' })
    expect(res.status).toBe(202)
    const body = UploadResponseSchema.parse(await res.json())
    expect(body.filename).toBe('My Clip.mov')
    expect(await store.get(body.job_id)).toMatchObject({
      source: 'url',
      source_url: 'https://media.example.com/v/My%20Clip.mov?token=1',
      status: 'queued',
    })
  })

  it('refuses non-http schemes and malformed bodies with 400', async () => {
    for (const body of [{ url: 'file:///etc/passwd' }, { url: 'ftp://x/a.mp4' }, { url: 42 }, {}]) {
      const res = await importUrl(body)
      expect(res.status, JSON.stringify(body)).toBe(400)
      expect((await res.json()).error).toBe('bad_request')
    }
    const malformed = await app.request('/upload-url', {
      method: 'POST',
      body: '{',
      headers: { 'content-type': 'application/json' },
    })
    expect(malformed.status).toBe(400)
    expect(await client.xLen(store.keys.stream)).toBe(0)
  })
})

describe('health, metrics, unknown routes', () => {
  it('reports healthy while Redis answers', async () => {
    const res = await app.request('/healthz')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: 'ok' })
  })

  it('counts uploads by status in /metrics', async () => {
    await upload(form('a.mp4', 'x'))
    await upload(form('a.txt', 'x'))
    const text = await (await app.request('/metrics')).text()
    expect(text).toMatch(/video_uploads_total\{status="accepted",service="ingest"\} 1/)
    expect(text).toMatch(/video_uploads_total\{status="invalid_file_type",service="ingest"\} 1/)
    expect(text).toMatch(/video_upload_size_bytes_count\{service="ingest"\} 1/)
  })

  it('answers unknown routes with a JSON 404', async () => {
    const res = await app.request('/nope')
    expect(res.status).toBe(404)
    expect((await res.json()).error).toBe('not_found')
  })
})
