/**
 * The original back (`GET /jobs/{id}/original`) on running pipelines: real redis-server, real
 * ffmpeg, real HTTP, local storage (API keys off, then on) and S3 (s3rver). A job completed with
 * KEEP_ORIGINALS gives a URL that downloads the very bytes uploaded, then stops working after
 * ORIGINAL_URL_TTL; retention removes the upload with the outputs; without KEEP_ORIGINALS, and for
 * another key's job, 404.
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createClient, VppError } from '@vpp/client'
import { createLogger, type Job, JobSchema, OriginalLinkSchema, UploadResponseSchema } from '@vpp/shared'
import type { RunningService } from '@vpp/shared/node'
import {
  makeClip,
  mp4Bytes,
  startTestRedis,
  startTestS3,
  type TestRedis,
  type TestS3,
  tempDir,
} from '@vpp/shared/testing'
import { startStatus, loadConfig as statusConfig } from '@vpp/status'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { run } from '../packages/cli/src/run.ts'
import { eventually, type Pipeline, startPipeline } from './harness.ts'

const DAY_S = 24 * 3600
const A = 'key-a-0123456789abcdef'
const B = 'key-b-0123456789abcdef'
const SECRET = 'media-secret-0123456789abcdef-0123456789'

let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let clip = ''
let bytes: Buffer

beforeAll(async () => {
  ;[redis, dir] = await Promise.all([startTestRedis(), tempDir()])
  clip = await makeClip(join(dir.path, 'clip.mp4'), { width: 320, height: 180, seconds: 1, audio: true })
  bytes = await readFile(clip)
})
afterAll(async () => {
  await redis?.stop()
  await dir?.remove()
})

const bearer = (key?: string): Record<string, string> => (key ? { Authorization: `Bearer ${key}` } : {})

async function upload(pipeline: Pipeline, name: string, key?: string): Promise<string> {
  const form = new FormData()
  form.append('file', new Blob([new Uint8Array(bytes)]), name)
  const res = await fetch(`${pipeline.ingest}/upload`, { method: 'POST', body: form, headers: bearer(key) })
  if (res.status !== 202) throw new Error(`upload answered ${res.status}: ${await res.text()}`)
  return UploadResponseSchema.parse(await res.json()).job_id
}

async function finished(pipeline: Pipeline, id: string, key?: string): Promise<Job> {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
    const job = JobSchema.parse(
      await (await fetch(`${pipeline.status}/jobs/${id}`, { headers: bearer(key) })).json(),
    )
    if (job.status === 'completed' || job.status === 'failed') return job
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`job ${id} did not finish`)
}

const original = (pipeline: Pipeline, id: string, key?: string) =>
  fetch(`${pipeline.status}/jobs/${id}/original`, { headers: bearer(key) })

/** A URL of the running status service (the tests' PUBLIC_URL names port 0). */
const onStatus = (pipeline: Pipeline, url: string) => {
  const { pathname, search } = new URL(url)
  return `${pipeline.status}${pathname}${search}`
}

async function errorOf(res: Response): Promise<{ status: number; error: string; message: string }> {
  const body = (await res.json()) as { error: string; message: string }
  return { status: res.status, ...body }
}

/** `vpp …args` in this process against `pipeline` with `key`: exit code, stdout, stderr. */
async function vpp(pipeline: Pipeline, args: string[], key = '') {
  let stdout = ''
  let stderr = ''
  const code = await run(args, {
    env: { VPP_INGEST_URL: pipeline.ingest, VPP_STATUS_URL: pipeline.status, VPP_API_KEY: key },
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    signal: new AbortController().signal,
  })
  return { code, stdout, stderr }
}

/** Until `at` has passed (and a little more, for the second the expiry is counted in). */
const until = (at: string) =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(at) - Date.now()) + 200))

describe('local storage, API keys off', () => {
  let pipeline: Pipeline
  let keeping: RunningService
  const uploads = () => join(dir.path, 'local', 'uploads')

  beforeAll(async () => {
    pipeline = await startPipeline(redis, join(dir.path, 'local'), {
      TRANSCODE_PROFILES: '360p',
      ORIGINAL_URL_TTL: '2',
    })
    keeping = await pipeline.transcoder({
      KEEP_ORIGINALS: 'true',
      OUTPUT_RETENTION_DAYS: String(8 / DAY_S), // outputs (and the kept upload): 8 s after completion
      RETENTION_SWEEP_MS: '200',
    })
  })
  afterAll(async () => {
    await pipeline?.close()
  })

  it('keeps the upload of a completed job, gives a URL to its bytes, which expires after ORIGINAL_URL_TTL', async () => {
    const id = await upload(pipeline, 'été 2026.mp4')
    const job = await finished(pipeline, id)
    expect(job.status, job.error).toBe('completed')
    expect(job.original).toBe('kept')
    expect(existsSync(join(uploads(), id))).toBe(true)

    const res = await original(pipeline, id)
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('private, no-store')
    const link = OriginalLinkSchema.parse(await res.json())
    expect(link).toMatchObject({ filename: 'été 2026.mp4', size_bytes: bytes.length })
    const made = Date.now()
    // Valid for the TTL, rounded up to a tenth of it (here a second): 2 to 3 s.
    expect(Date.parse(link.expires_at) - made).toBeGreaterThan(1000)
    expect(Date.parse(link.expires_at) - made).toBeLessThanOrEqual(3000)
    expect(new URL(link.url).pathname).toMatch(new RegExp(`^/originals/\\d+\\.[A-Za-z0-9_-]{43}/${id}$`))

    const file = await fetch(onStatus(pipeline, link.url))
    expect(file.status).toBe(200)
    expect(file.headers.get('content-disposition')).toBe(
      `attachment; filename="_t_ 2026.mp4"; filename*=UTF-8''%C3%A9t%C3%A9%202026.mp4`,
    )
    expect(file.headers.get('content-type')).toBe('application/octet-stream')
    expect(Buffer.from(await file.arrayBuffer()).equals(bytes)).toBe(true)

    // Another status process (no MEDIA_SIGNING_SECRET: the secret is the one kept in Redis) takes it too.
    const other = await startStatus(
      statusConfig(pipeline.env),
      createLogger({ service: 'status', level: 'silent' }),
    )
    try {
      const again = await fetch(`http://127.0.0.1:${other.port}${new URL(link.url).pathname}`)
      expect(again.status).toBe(200)
      expect(Buffer.from(await again.arrayBuffer()).equals(bytes)).toBe(true)
    } finally {
      await other.close()
    }

    await until(link.expires_at)
    expect(await errorOf(await fetch(onStatus(pipeline, link.url)))).toMatchObject({
      status: 403,
      error: 'token_expired',
    })
    // A fresh one works again.
    const fresh = OriginalLinkSchema.parse(await (await original(pipeline, id)).json())
    expect((await fetch(onStatus(pipeline, fresh.url))).status).toBe(200)

    // OUTPUT_RETENTION_DAYS: the upload goes with the outputs, and the record says so.
    const expired = await pipeline.waitFor(id, ['expired'], 20_000)
    expect(expired.original).toBe('removed')
    await eventually(() => !existsSync(join(uploads(), id)), 10_000, 'the kept upload removed')
    expect(await errorOf(await original(pipeline, id))).toMatchObject({
      status: 404,
      error: 'original_removed',
    })
  })

  it('answers 409 before the job has finished, and 404 original_not_kept without KEEP_ORIGINALS', async () => {
    await keeping.close()
    const id = await upload(pipeline, 'clip.mp4')
    expect(await errorOf(await original(pipeline, id))).toMatchObject({
      status: 409,
      error: 'job_not_finished',
    })
    await pipeline.transcoder()
    const job = await finished(pipeline, id)
    expect(job.status, job.error).toBe('completed')
    expect(job.original).toBeUndefined()
    const refused = await errorOf(await original(pipeline, id))
    expect(refused).toMatchObject({ status: 404, error: 'original_not_kept' })
    expect(refused.message).toContain('KEEP_ORIGINALS')
    await eventually(() => !existsSync(join(uploads(), id)), 5000, 'the upload removed')
    expect(await errorOf(await original(pipeline, 'no-such-job'))).toMatchObject({
      status: 404,
      error: 'not_found',
    })
    // A failed job keeps its upload for a retry from the dead-letter queue: it is answered too.
    const form = new FormData()
    form.append('file', new Blob([mp4Bytes()]), 'broken.mp4')
    const res = await fetch(`${pipeline.ingest}/upload`, { method: 'POST', body: form })
    const broken = UploadResponseSchema.parse(await res.json()).job_id
    expect((await finished(pipeline, broken)).status).toBe('failed')
    const link = OriginalLinkSchema.parse(await (await original(pipeline, broken)).json())
    const file = await fetch(onStatus(pipeline, link.url))
    expect(file.status).toBe(200)
    expect(Buffer.from(await file.arrayBuffer()).equals(mp4Bytes())).toBe(true)
  })
})

describe('local storage, API keys on', () => {
  let pipeline: Pipeline
  let job: Job
  let link: ReturnType<typeof OriginalLinkSchema.parse>

  beforeAll(async () => {
    pipeline = await startPipeline(redis, join(dir.path, 'keys'), {
      API_KEYS: `${A},${B}`,
      MEDIA_SIGNING_SECRET: SECRET,
      TRANSCODE_PROFILES: '360p',
    })
    await pipeline.transcoder({ KEEP_ORIGINALS: 'true' })
    job = await finished(pipeline, await upload(pipeline, 'a.mp4', A), A)
  })
  afterAll(async () => {
    await pipeline?.close()
  })

  it("answers the owner's key, 404 to another key's, 401 to none", async () => {
    expect(job.status, job.error).toBe('completed')
    const res = await original(pipeline, job.job_id, A)
    expect(res.status).toBe(200)
    link = OriginalLinkSchema.parse(await res.json())
    expect(link).toMatchObject({ filename: 'a.mp4', size_bytes: bytes.length })
    expect(await errorOf(await original(pipeline, job.job_id, B))).toMatchObject({
      status: 404,
      error: 'not_found',
    })
    expect(await errorOf(await original(pipeline, job.job_id))).toMatchObject({
      status: 401,
      error: 'unauthorized',
    })
  })

  it("is the client's original(id) and `vpp original JOB_ID`, with the same tenancy", async () => {
    const client = (apiKey: string) =>
      createClient({ ingestUrl: pipeline.ingest, statusUrl: pipeline.status, apiKey })
    const mine = await client(A).original(job.job_id)
    expect(mine).toMatchObject({ filename: 'a.mp4', size_bytes: bytes.length })
    const refused = await client(B)
      .original(job.job_id)
      .catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(VppError)
    expect(refused).toMatchObject({ status: 404, code: 'not_found' })

    const printed = await vpp(pipeline, ['original', job.job_id], A)
    expect(printed.code, printed.stderr).toBe(0)
    expect(printed.stdout).toMatch(
      new RegExp(`^http://localhost:0/originals/\\d+\\.[A-Za-z0-9_-]{43}/${job.job_id}\n$`),
    )
    const other = await vpp(pipeline, ['original', job.job_id], B)
    expect(other).toMatchObject({ code: 1, stdout: '' })
    expect(other.stderr).toContain('vpp: not_found:')
  })

  it('downloads through the signed URL with no key; a media token opens no original, nor the reverse', async () => {
    const file = await fetch(onStatus(pipeline, link.url))
    expect(file.status).toBe(200)
    expect(Buffer.from(await file.arrayBuffer()).equals(bytes)).toBe(true)

    const [, , originalToken] = new URL(link.url).pathname.split('/')
    const [, , mediaToken] = new URL(job.playback?.mp4 ?? '').pathname.split('/')
    expect(mediaToken).toMatch(/^\d+\./)
    const crossed = await fetch(`${pipeline.status}/originals/${mediaToken}/${job.job_id}`)
    expect(await errorOf(crossed)).toMatchObject({ status: 403, error: 'forbidden' })
    const reverse = await fetch(`${pipeline.status}/media/${originalToken}/${job.job_id}/360p.mp4`)
    expect(await errorOf(reverse)).toMatchObject({ status: 403, error: 'forbidden' })
  })
})

describe('S3 storage', () => {
  let s3: TestS3
  let pipeline: Pipeline
  let transcoder: RunningService

  beforeAll(async () => {
    s3 = await startTestS3()
    pipeline = await startPipeline(redis, join(dir.path, 's3'), {
      ...s3.env,
      TRANSCODE_PROFILES: '360p',
      ORIGINAL_URL_TTL: '2',
    })
    // Videos of 2 s and more are encoded in chunks (the 1 s clip in one run).
    transcoder = await pipeline.transcoder({ KEEP_ORIGINALS: 'true', CHUNK_SECONDS: '1' })
  })
  afterAll(async () => {
    await pipeline?.close()
    await s3?.stop()
  })

  it('gives a presigned GET of the upload that downloads its bytes, then is refused after the TTL', async () => {
    const id = await upload(pipeline, 'holiday.mp4')
    const job = await finished(pipeline, id)
    expect(job.status, job.error).toBe('completed')
    expect(job.original).toBe('kept')
    const link = OriginalLinkSchema.parse(await (await original(pipeline, id)).json())
    expect(link).toMatchObject({ filename: 'holiday.mp4', size_bytes: bytes.length })
    const url = new URL(link.url)
    expect(url.origin + url.pathname).toBe(`${s3.endpoint}/${s3.bucket}/uploads/${id}`)
    expect(url.searchParams.get('X-Amz-Expires')).toBe('2')
    expect(url.searchParams.get('response-content-disposition')).toBe(
      `attachment; filename="holiday.mp4"; filename*=UTF-8''holiday.mp4`,
    )

    const file = await fetch(link.url)
    expect(file.status).toBe(200)
    expect(file.headers.get('content-disposition')).toBe(
      `attachment; filename="holiday.mp4"; filename*=UTF-8''holiday.mp4`,
    )
    expect(Buffer.from(await file.arrayBuffer()).equals(bytes)).toBe(true)

    // `vpp original JOB_ID -o FILE` saves the same bytes.
    const saved = join(dir.path, 'saved.mp4')
    const cli = await vpp(pipeline, ['original', id, '-o', saved])
    expect(cli.code, cli.stderr).toBe(0)
    expect(cli.stdout).toBe(`${saved}\n`)
    expect((await readFile(saved)).equals(bytes)).toBe(true)

    await until(link.expires_at)
    await new Promise((resolve) => setTimeout(resolve, 1000)) // S3 counts the expiry in whole seconds
    const late = await fetch(link.url)
    expect(late.status).toBe(403)
    expect(await late.text()).toContain('Request has expired')
  })

  it('keeps the upload of a job encoded in chunks too', async () => {
    const long = await makeClip(join(dir.path, 'long.mp4'), {
      width: 320,
      height: 180,
      seconds: 3,
      audio: true,
    })
    const form = new FormData()
    form.append('file', new Blob([await readFile(long)]), 'long.mp4')
    const id = UploadResponseSchema.parse(
      await (await fetch(`${pipeline.ingest}/upload`, { method: 'POST', body: form })).json(),
    ).job_id
    const job = await finished(pipeline, id)
    expect(job.status, job.error).toBe('completed')
    const metrics = await (await fetch(`http://127.0.0.1:${transcoder.port}/metrics`)).text()
    expect(metrics).toMatch(/video_chunks_processed_total\{[^}]*status="completed"[^}]*\} [1-9]/)
    expect(job.original).toBe('kept')
    const link = OriginalLinkSchema.parse(await (await original(pipeline, id)).json())
    const file = await fetch(link.url)
    expect(file.status).toBe(200)
    expect(Buffer.from(await file.arrayBuffer()).equals(await readFile(long))).toBe(true)
  })
})
