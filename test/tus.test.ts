/**
 * Resumable uploads (tus 1.0) on ingest, driven by the real tus-js-client: resumed from the stored
 * URL, across replicas (one SIGKILLed mid-upload), with the limits and checks of multipart
 * uploads, expiry, on S3 (s3rver), and with ingest on Node, Bun and Deno. Real HTTP, real Redis,
 * real ffmpeg.
 */
import { readdir, readFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
import { loadConfig as ingestConfig, startIngest } from '@vpp/ingest'
import { createLogger } from '@vpp/shared'
import {
  makeClip,
  mp4Bytes,
  startTestRedis,
  startTestS3,
  type TestRedis,
  type TestS3,
  tempDir,
} from '@vpp/shared/testing'
import * as tus from 'tus-js-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  eventually,
  type Pipeline,
  type Runtime,
  type ServiceProcess,
  spawnService,
  startPipeline,
} from './harness.ts'

const KEY_A = 'tus-key-a-0123456789abcdef'
const KEY_B = 'tus-key-b-0123456789abcdef'

let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let pipeline: Pipeline
let clip: Buffer

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
  clip = await readFile(
    await makeClip(`${dir.path}/clip.mp4`, { width: 640, height: 360, seconds: 3, audio: true }),
  )
  pipeline = await startPipeline(redis, `${dir.path}/data`, {
    TRANSCODE_PROFILES: '360p',
    MAX_FILE_SIZE: '8MB',
  })
  await pipeline.transcoder()
}, 60_000)

/** Ingest on `runtime`: in this process (Node), or `npm run start:ingest:{bun,deno}` as a child. */
async function ingestOn(
  runtime: Runtime,
  extra: Record<string, string> = {},
): Promise<{ url: string; stop(): Promise<void> }> {
  if (runtime !== 'node') return spawnService('ingest', runtime, { ...pipeline.env, ...extra })
  const ingest = await startIngest(
    ingestConfig({ ...pipeline.env, ...extra, INGEST_PORT: '0' }),
    createLogger({ service: 'ingest', level: 'silent' }),
  )
  return { url: `http://127.0.0.1:${ingest.port}`, stop: () => ingest.close() }
}
afterAll(async () => {
  await pipeline?.close()
  await redis?.stop()
  await dir?.remove()
})

/**
 * Upload `data` to `endpoint` with tus-js-client in 64 KiB chunks; with `stopAt`, abort once that
 * share has been sent and resolve with the upload URL (nothing stored client side but it).
 */
function send(
  data: Buffer,
  options: {
    endpoint?: string
    uploadUrl?: string
    stopAt?: number
    headers?: Record<string, string>
    metadata?: Record<string, string>
  },
): Promise<string> {
  return new Promise((resolve, reject) => {
    let stopping = false
    const upload: tus.Upload = new tus.Upload(data, {
      endpoint: options.endpoint,
      uploadUrl: options.uploadUrl,
      chunkSize: 64 * 1024,
      retryDelays: [100, 300, 1000, 2000, 4000],
      headers: options.headers ?? {},
      metadata: options.metadata ?? { filename: 'clip.mp4' },
      onError: reject,
      onProgress(sent, total) {
        if (options.stopAt !== undefined && !stopping && sent >= total * options.stopAt) {
          stopping = true
          const url = upload.url ?? ''
          upload.abort().then(() => resolve(url), reject)
        }
      },
      onSuccess: () => resolve(upload.url ?? ''),
    })
    upload.start()
  })
}

const idOf = (url: string) => new URL(url).pathname.split('/').pop() ?? ''
const head = (url: string, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0', ...headers } })

describe.each(['node', 'bun', 'deno'] as const)('tus on ingest on %s', (runtime: Runtime) => {
  let ingest: { url: string; stop(): Promise<void> }
  beforeAll(async () => {
    ingest = await ingestOn(runtime)
  }, 60_000)
  afterAll(async () => {
    await ingest?.stop()
  })

  it('resumes an upload aborted halfway from its URL with a new client; the file is byte-identical and the job completes', async () => {
    const url = await send(clip, { endpoint: `${ingest.url}/uploads`, stopAt: 0.5 })
    const id = idOf(url)
    expect(url).toBe(`${ingest.url}/uploads/${id}`)
    const offset = Number((await head(url)).headers.get('upload-offset'))
    expect(offset).toBeGreaterThan(0)
    expect(offset).toBeLessThan(clip.length)
    // Not a job yet.
    expect((await fetch(`${pipeline.status}/jobs/${id}`)).status).toBe(404)
    await send(clip, { uploadUrl: url })
    const stored = await readFile(`${dir.path}/data/uploads/${id}`)
    expect(Buffer.compare(stored, clip)).toBe(0)
    // Done: HEAD says complete, and the job is queued under the upload's id.
    const done = await head(url)
    expect([done.status, done.headers.get('upload-offset')]).toEqual([200, String(clip.length)])
    const job = await pipeline.waitFor(id, ['completed', 'failed'], 60_000)
    expect(job).toMatchObject({ status: 'completed', filename: 'clip.mp4', source: 'upload' })
  }, 90_000)

  it('answers a repeated Idempotency-Key on creation with the first upload, and refuses a malformed one', async () => {
    const create = (key: string) =>
      fetch(`${ingest.url}/uploads`, {
        method: 'POST',
        headers: { 'Tus-Resumable': '1.0.0', 'Upload-Length': '1000', 'Idempotency-Key': key },
      })
    const key = `idem-${runtime}-${Date.now()}`
    const first = await create(key)
    const again = await create(key)
    expect([first.status, again.status]).toEqual([201, 201])
    expect(again.headers.get('location')).toBe(first.headers.get('location'))
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    const bad = await create('bad key with spaces')
    expect(bad.status).toBe(400)
    expect(await bad.json()).toMatchObject({ error: 'bad_request' })
  })

  it('answers 409 to a wrong Upload-Offset, 413 to an oversize length, 415 to a text file, 400 to a deferred length', async () => {
    const create = (headers: Record<string, string>, body?: Uint8Array<ArrayBuffer>) =>
      fetch(`${ingest.url}/uploads`, {
        method: 'POST',
        headers: { 'Tus-Resumable': '1.0.0', ...headers },
        body,
      })
    const created = await create({ 'Upload-Length': '100000' })
    expect(created.status).toBe(201)
    const url = created.headers.get('location') ?? ''
    const patch = (offset: number, body: Uint8Array<ArrayBuffer>) =>
      fetch(url, {
        method: 'PATCH',
        headers: {
          'Tus-Resumable': '1.0.0',
          'Upload-Offset': String(offset),
          'Content-Type': 'application/offset+octet-stream',
        },
        body,
      })
    expect((await patch(0, mp4Bytes(1000))).status).toBe(204)
    const wrong = await patch(500, mp4Bytes(1000))
    expect(wrong.status).toBe(409)
    expect(await wrong.json()).toMatchObject({ error: 'upload_offset_mismatch' })

    const large = await create({ 'Upload-Length': String(9 * 1024 * 1024) })
    expect(large.status).toBe(413)
    expect(await large.json()).toMatchObject({ error: 'file_too_large' })

    const text = await create({ 'Upload-Length': '200' })
    const textUrl = text.headers.get('location') ?? ''
    const refused = await fetch(textUrl, {
      method: 'PATCH',
      headers: {
        'Tus-Resumable': '1.0.0',
        'Upload-Offset': '0',
        'Content-Type': 'application/offset+octet-stream',
      },
      body: Buffer.from('just some notes, not a video at all '.repeat(6).slice(0, 200)),
    })
    expect(refused.status).toBe(415)
    expect(await refused.json()).toMatchObject({ error: 'invalid_file_type' })
    // Removed: nothing left of it.
    expect((await head(textUrl)).status).toBe(404)

    const deferred = await create({ 'Upload-Defer-Length': '1' })
    expect(deferred.status).toBe(400)
    expect(await deferred.json()).toMatchObject({ error: 'defer_length_unsupported' })
  })
})

describe.each(['node', 'bun', 'deno'] as const)('tus with API keys on %s', (runtime: Runtime) => {
  it('answers 401 without a key and 404 to another key', async () => {
    const guarded = await ingestOn(runtime, { API_KEYS: `${KEY_A},${KEY_B}` })
    try {
      const base = guarded.url
      const none = await fetch(`${base}/uploads`, {
        method: 'POST',
        headers: { 'Tus-Resumable': '1.0.0', 'Upload-Length': '1000' },
      })
      expect(none.status).toBe(401)
      const url = await send(Buffer.from(mp4Bytes(200_000)), {
        endpoint: `${base}/uploads`,
        stopAt: 0.3,
        headers: { Authorization: `Bearer ${KEY_A}` },
      })
      expect((await head(url, { Authorization: `Bearer ${KEY_A}` })).status).toBe(200)
      expect((await head(url, { Authorization: `Bearer ${KEY_B}` })).status).toBe(404)
      expect((await head(url)).status).toBe(401)
      // A browser's preflight carries no key; it is answered, and advertises no deferred length.
      const preflight = await fetch(`${base}/uploads`, {
        method: 'OPTIONS',
        headers: { Origin: 'http://app.example', 'Access-Control-Request-Method': 'POST' },
      })
      expect(preflight.status).toBe(204)
      expect(preflight.headers.get('tus-extension')).not.toContain('creation-defer-length')
    } finally {
      await guarded.stop()
    }
  })
})

describe('disconnects', () => {
  /** Send `head` and part of a body on a raw socket, then drop the connection. */
  const dropMidway = (head: string, body: Buffer) =>
    new Promise<void>((resolve, reject) => {
      const { port } = new URL(pipeline.ingest)
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(head)
        socket.write(body, () => setTimeout(() => socket.destroy(), 200))
      })
      socket.on('close', () => resolve())
      socket.on('error', reject)
    })
  const count = async (status: string) => {
    const text = await (await fetch(`${pipeline.ingest}/metrics`)).text()
    const line = text.split('\n').find((l) => l.startsWith(`video_uploads_total{status="${status}"`))
    return Number(line?.split(' ').pop() ?? 0)
  }

  it('counts a client gone mid-upload as client_aborted on both protocols, never internal_error, keeping nothing broken', async () => {
    const before = { aborted: await count('client_aborted'), internal: await count('internal_error') }
    const boundary = 'x-boundary'
    const part = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n\r\n`),
      Buffer.from(mp4Bytes(100_000)),
    ])
    await dropMidway(
      `POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: 1000000\r\n\r\n`,
      part,
    )
    await eventually(
      async () => (await count('client_aborted')) === before.aborted + 1,
      5000,
      'the multipart abort counted',
    )
    const files = await readdir(`${dir.path}/data/uploads`)
    expect(files.filter((f) => f.endsWith('.part'))).toEqual([])

    const created = await fetch(`${pipeline.ingest}/uploads`, {
      method: 'POST',
      headers: { 'Tus-Resumable': '1.0.0', 'Upload-Length': '1000000' },
    })
    const path = new URL(created.headers.get('location') ?? '').pathname
    await dropMidway(
      `PATCH ${path} HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: 1000000\r\n\r\n`,
      Buffer.from(mp4Bytes(100_000)),
    )
    await eventually(
      async () => (await count('client_aborted')) === before.aborted + 2,
      5000,
      'the tus abort counted',
    )
    expect(await count('internal_error')).toBe(before.internal)
    // What came is kept, to resume from.
    const offset = Number((await head(`${pipeline.ingest}${path}`)).headers.get('upload-offset'))
    expect(offset).toBeGreaterThan(0)
  })
})

describe('tus across replicas', () => {
  it('resumes on a second ingest replica an upload whose first replica was SIGKILLed mid-upload', async () => {
    const [first, second] = await Promise.all([
      spawnService('ingest', 'node', pipeline.env),
      spawnService('ingest', 'node', pipeline.env),
    ])
    try {
      const big = Buffer.concat([clip, Buffer.alloc(2 * 1024 * 1024, 7)])
      const url = await new Promise<string>((resolve, reject) => {
        let killed = false
        const upload: tus.Upload = new tus.Upload(big, {
          endpoint: `${first.url}/uploads`,
          chunkSize: 256 * 1024,
          retryDelays: [],
          metadata: { filename: 'clip.mp4' },
          onProgress(sent, total) {
            if (!killed && sent >= total / 2) {
              killed = true
              first.child.kill('SIGKILL')
            }
          },
          onError: () => resolve(upload.url ?? ''),
          onSuccess: () => reject(new Error('the upload finished before its replica was killed')),
        })
        upload.start()
      })
      const path = new URL(url).pathname
      await send(big, { uploadUrl: `${second.url}${path}` })
      const id = idOf(url)
      expect(Buffer.compare(await readFile(`${dir.path}/data/uploads/${id}`), big)).toBe(0)
      const job = await pipeline.waitFor(id, ['queued', 'processing', 'completed', 'failed'], 10_000)
      expect(job.filename).toBe('clip.mp4')
    } finally {
      await Promise.all([first.stop(), second.stop()])
    }
  }, 90_000)
})

describe('tus expiry', () => {
  it('removes an upload left unfinished past UPLOAD_EXPIRY_HOURS', async () => {
    const ingest = await startIngest(
      ingestConfig({ ...pipeline.env, INGEST_PORT: '0', UPLOAD_EXPIRY_HOURS: '0.0003' }),
      createLogger({ service: 'ingest', level: 'silent' }),
    )
    try {
      const url = await send(Buffer.from(mp4Bytes(300_000)), {
        endpoint: `http://127.0.0.1:${ingest.port}/uploads`,
        stopAt: 0.3,
      })
      const id = idOf(url)
      const file = `${dir.path}/data/uploads/${id}`
      expect((await readdir(`${dir.path}/data/uploads`)).filter((f) => f.startsWith(id)).sort()).toEqual([
        id,
        `${id}.json`,
      ])
      await eventually(
        async () => !(await readdir(`${dir.path}/data/uploads`)).some((f) => f.startsWith(id)),
        10_000,
        `${file} and its .json to be removed`,
      )
      expect((await head(url)).status).toBe(404)
    } finally {
      await ingest.close()
    }
  })
})

describe('tus on S3', () => {
  let s3: TestS3
  beforeAll(async () => {
    s3 = await startTestS3()
  })
  afterAll(async () => {
    await s3?.stop()
  })

  it('stores the upload as uploads/{job_id} in the bucket, resumed on another replica', async () => {
    const env = { ...pipeline.env, ...s3.env, INGEST_PORT: '0' }
    const logger = createLogger({ service: 'ingest', level: 'silent' })
    const [a, b] = await Promise.all([
      startIngest(ingestConfig(env), logger),
      startIngest(ingestConfig(env), logger),
    ])
    try {
      // More than S3's 5 MiB part minimum, so the upload spans a real multipart part and a tail.
      const big = Buffer.concat([clip, Buffer.alloc(6 * 1024 * 1024 - clip.length, 3)])
      const url = await send(big, { endpoint: `http://127.0.0.1:${a.port}/uploads`, stopAt: 0.6 })
      const path = new URL(url).pathname
      await send(big, { uploadUrl: `http://127.0.0.1:${b.port}${path}` })
      const id = idOf(url)
      const storage = s3.storage(`${dir.path}/s3-scratch`)
      try {
        const object = await storage.client.send(
          new GetObjectCommand({ Bucket: s3.bucket, Key: `uploads/${id}` }),
        )
        const stored = Buffer.from((await object.Body?.transformToByteArray()) ?? [])
        expect(Buffer.compare(stored, big)).toBe(0)
        // Only the upload itself is left: no .info, no .part.
        const listed = await storage.client.send(
          new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `uploads/${id}` }),
        )
        expect(listed.Contents?.map((o) => o.Key)).toEqual([`uploads/${id}`])
      } finally {
        storage.close()
      }
    } finally {
      await Promise.all([a.close(), b.close()])
    }
  }, 60_000)
})
