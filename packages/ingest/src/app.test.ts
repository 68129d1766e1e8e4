import { readFile } from 'node:fs/promises'
import {
  closeRedis,
  connectRedis,
  createLogger,
  JobStore,
  redisKeys,
  UploadResponseSchema,
} from '@vpp/shared'
import { beforeEach, describe, expect, it } from 'vitest'
import { form, MAX, mp4Bytes, useIngestFixture } from './test-fixture.ts'

const fixture = useIngestFixture()
let t: Awaited<ReturnType<typeof fixture.makeApp>>
beforeEach(async () => {
  t = await fixture.makeApp()
})

describe('POST /upload', () => {
  it('stores the file under a generated name, queues a job and answers 202 with the seed body', async () => {
    const bytes = mp4Bytes()
    const res = await t.upload(form('../../holiday video.mp4', bytes))
    expect(res.status).toBe(202)
    const body = UploadResponseSchema.parse(await res.json())
    expect(body).toMatchObject({ filename: 'holiday video.mp4', status: 'queued' })
    expect(await t.files()).toEqual([body.job_id])
    expect(new Uint8Array(await readFile(`${t.uploadDir}/${body.job_id}`))).toEqual(bytes)
    expect(await t.store.get(body.job_id)).toMatchObject({
      status: 'queued',
      source: 'upload',
      created_at: body.created_at,
    })
    expect(await fixture.client.xLen(t.store.keys.stream)).toBe(1)
  })

  it('refuses a file over MAX_FILE_SIZE with 413 and keeps nothing', async () => {
    const res = await t.upload(form('big.mp4', mp4Bytes(MAX + 1)))
    expect(res.status).toBe(413)
    expect(await res.json()).toEqual({ error: 'file_too_large', message: 'File too large' })
    expect(await t.files()).toEqual([])
    expect(await fixture.client.xLen(t.store.keys.stream)).toBe(0)
  })

  it('refuses an honest Content-Length over the limit before reading the body', async () => {
    const res = await t.upload('x', {
      'content-type': 'multipart/form-data; boundary=abc',
      'content-length': String(10 * MAX),
    })
    expect(res.status).toBe(413)
    expect((await res.json()).message).toBe('File too large')
  })

  it('refuses other file types with 415', async () => {
    for (const name of ['notes.txt', 'video', 'clip.mp4.exe']) {
      const res = await t.upload(form(name, 'hello'))
      expect(res.status, name).toBe(415)
      expect(await res.json()).toEqual({ error: 'invalid_file_type', message: 'Invalid file type' })
    }
    expect(await t.files()).toEqual([])
  })

  it('answers 400 for a body that is not multipart or has no file field', async () => {
    const notMultipart = await t.upload('{"file":1}', { 'content-type': 'application/json' })
    expect(notMultipart.status).toBe(400)
    expect((await notMultipart.json()).error).toBe('bad_request')

    const noFile = await t.upload(form('a.mp4', 'x', 'video'))
    expect(noFile.status).toBe(400)
    expect(await noFile.json()).toEqual({
      error: 'bad_request',
      message: 'Missing multipart field "file" with the video file',
    })

    const truncated = await t.upload(
      '--abc\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n\r\npartial',
      {
        'content-type': 'multipart/form-data; boundary=abc',
      },
    )
    expect(truncated.status).toBe(400)
    expect(await t.files()).toEqual([])
  })
})

describe('when Redis is down', () => {
  it('answers 503 instead of 202 and keeps no file', async () => {
    const gone = await connectRedis(fixture.redis.url, createLogger({ service: 'test', level: 'silent' }))
    await closeRedis(gone)
    const down = await fixture.makeApp({ store: new JobStore(gone, redisKeys('down')) })
    const res = await down.upload(form('a.mp4', mp4Bytes(100)))
    expect(res.status).toBe(503)
    expect(await res.json()).toEqual({
      error: 'unavailable',
      message: 'The job store is unavailable; try again shortly',
    })
    expect(await down.files()).toEqual([])
  })
})

describe('POST /upload-url', () => {
  it('queues an http(s) URL import with the seed body', async () => {
    const res = await t.importUrl({ url: 'https://media.example.com/v/My%20Clip.mov?token=1' })
    expect(res.status).toBe(202)
    const body = UploadResponseSchema.parse(await res.json())
    expect(body.filename).toBe('My Clip.mov')
    expect(await t.store.get(body.job_id)).toMatchObject({
      source: 'url',
      source_url: 'https://media.example.com/v/My%20Clip.mov?token=1',
      status: 'queued',
    })
  })

  it('refuses non-http schemes and malformed bodies with 400', async () => {
    for (const body of [{ url: 'file:///etc/passwd' }, { url: 'ftp://x/a.mp4' }, { url: 42 }, {}]) {
      const res = await t.importUrl(body)
      expect(res.status, JSON.stringify(body)).toBe(400)
      expect((await res.json()).error).toBe('bad_request')
    }
    const malformed = await t.app.request('/upload-url', {
      method: 'POST',
      body: '{',
      headers: { 'content-type': 'application/json' },
    })
    expect(malformed.status).toBe(400)
    expect(await fixture.client.xLen(t.store.keys.stream)).toBe(0)
  })
})

describe('health, metrics, unknown routes', () => {
  it('reports healthy while Redis answers', async () => {
    const res = await t.app.request('/healthz')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: 'ok' })
  })

  it('counts uploads by status in /metrics', async () => {
    await t.upload(form('a.mp4', mp4Bytes(100)))
    await t.upload(form('a.txt', 'x'))
    const text = await (await t.app.request('/metrics')).text()
    expect(text).toMatch(/video_uploads_total\{status="accepted",service="ingest"\} 1/)
    expect(text).toMatch(/video_uploads_total\{status="invalid_file_type",service="ingest"\} 1/)
    expect(text).toMatch(/video_upload_size_bytes_count\{service="ingest"\} 1/)
  })

  it('answers unknown routes with a JSON 404', async () => {
    const res = await t.app.request('/nope')
    expect(res.status).toBe(404)
    expect((await res.json()).error).toBe('not_found')
  })
})
