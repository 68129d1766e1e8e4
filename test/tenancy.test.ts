/**
 * API keys own their jobs, and media URLs are signed: key A, key B, an admin key and no key
 * against every route of ingest and status, and the HLS master played through its signed URL with
 * no header. Real HTTP, real Redis, real ffmpeg.
 */
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import { type Job, JobSchema, UploadResponseSchema } from '@vpp/shared'
import { makeClip, startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { loadConfig as statusConfig } from '@vpp/status'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MediaSigner } from '../packages/status/src/media-token.ts'
import { type Pipeline, spawnService, startPipeline } from './harness.ts'
import { openSse } from './sse.ts'

const run = promisify(execFile)
const A = 'key-a-0123456789abcdef'
const B = 'key-b-0123456789abcdef'
const ADMIN = 'key-admin-0123456789abcdef'
const SECRET = 'media-secret-0123456789abcdef-0123456789'
type Caller = 'A' | 'B' | 'admin' | 'none'
const KEYS: Record<Caller, string | undefined> = { A, B, admin: ADMIN, none: undefined }

let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let pipeline: Pipeline
let clip = ''
/** Jobs of key A and key B, completed. */
let jobA: Job
let jobB: Job

const headers = (caller: Caller): Record<string, string> =>
  KEYS[caller] ? { Authorization: `Bearer ${KEYS[caller]}` } : {}

const call = (caller: Caller, method: string, url: string) =>
  fetch(url, { method, headers: headers(caller) }).then(async (res) => {
    // An event stream stays open: its status is the answer.
    if (res.headers.get('content-type')?.startsWith('text/event-stream')) await res.body?.cancel()
    else await res.arrayBuffer()
    return res.status
  })

async function upload(caller: Caller): Promise<string> {
  const form = new FormData()
  form.append('file', new Blob([await readFile(clip)]), 'clip.mp4')
  const res = await fetch(`${pipeline.ingest}/upload`, {
    method: 'POST',
    body: form,
    headers: headers(caller),
  })
  if (res.status !== 202) throw new Error(`upload answered ${res.status}: ${await res.text()}`)
  return UploadResponseSchema.parse(await res.json()).job_id
}

async function finished(id: string): Promise<Job> {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
    const res = await fetch(`${pipeline.status}/jobs/${id}`, { headers: headers('admin') })
    const job = JobSchema.parse(await res.json())
    if (job.status === 'completed' || job.status === 'failed') return job
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`job ${id} did not finish`)
}

/** A media URL on the running status service (the test's PUBLIC_URL port is 0). */
const local = (url: string | null | undefined) => `${pipeline.status}${new URL(url ?? '').pathname}`

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
  clip = await makeClip(`${dir.path}/clip.mp4`, { width: 640, height: 360, seconds: 2, audio: true })
  pipeline = await startPipeline(redis, `${dir.path}/data`, {
    API_KEYS: `${A},${B}`,
    ADMIN_API_KEYS: ADMIN,
    MEDIA_SIGNING_SECRET: SECRET,
    TRANSCODE_PROFILES: '360p,hls,thumbnail',
  })
  await pipeline.transcoder()
  ;[jobA, jobB] = await Promise.all([upload('A').then(finished), upload('B').then(finished)])
  expect([jobA.status, jobB.status]).toEqual(['completed', 'completed'])
}, 120_000)
afterAll(async () => {
  await pipeline?.close()
  await redis?.stop()
  await dir?.remove()
})

describe('tenancy', () => {
  it('answers each caller on every route as its key allows', async () => {
    const s = pipeline.status
    const a = jobA.job_id
    const media = `${s}/media/${a}/360p.mp4`
    const expected: Array<[string, string, Record<Caller, number>]> = [
      ['GET', `${s}/jobs/${a}`, { A: 200, B: 404, admin: 200, none: 401 }],
      ['GET', media, { A: 200, B: 404, admin: 200, none: 401 }],
      ['GET', `${s}/jobs/${a}/events`, { A: 200, B: 404, admin: 200, none: 401 }],
      ['GET', `${s}/jobs/${a}/deliveries`, { A: 200, B: 404, admin: 200, none: 401 }],
      ['GET', `${s}/events`, { A: 200, B: 200, admin: 200, none: 401 }],
      ['HEAD', media, { A: 200, B: 404, admin: 200, none: 401 }],
      // Completed: 409 to whoever may see it, 404 to the others.
      ['POST', `${s}/jobs/${a}/cancel`, { A: 409, B: 404, admin: 409, none: 401 }],
      ['DELETE', `${s}/jobs/${a}`, { A: 0, B: 404, admin: 0, none: 401 }],
      ['GET', `${s}/stats`, { A: 403, B: 403, admin: 200, none: 401 }],
      ['GET', `${s}/dlq`, { A: 403, B: 403, admin: 200, none: 401 }],
      ['POST', `${s}/dlq/1-0/retry`, { A: 403, B: 403, admin: 404, none: 401 }],
      ['DELETE', `${s}/dlq/1-0`, { A: 403, B: 403, admin: 404, none: 401 }],
      ['GET', `${s}/healthz`, { A: 200, B: 200, admin: 200, none: 200 }],
      ['GET', `${s}/metrics`, { A: 200, B: 200, admin: 200, none: 200 }],
      ['POST', `${pipeline.ingest}/upload-url`, { A: 400, B: 400, admin: 400, none: 401 }],
    ]
    for (const [method, url, statuses] of expected) {
      for (const caller of ['A', 'B', 'admin', 'none'] as const) {
        if (statuses[caller] === 0) continue // would delete the job the other rows need
        expect(await call(caller, method, url), `${caller} ${method} ${url}`).toBe(statuses[caller])
      }
    }
  })

  it('lists to each key its own jobs, and every job to an admin key', async () => {
    const ids = async (caller: Caller, query = '') => {
      const res = await fetch(`${pipeline.status}/jobs${query}`, { headers: headers(caller) })
      expect(res.status).toBe(200)
      return ((await res.json()) as { jobs: Job[] }).jobs.map((job) => job.job_id)
    }
    for (const query of ['', '?status=completed']) {
      expect(await ids('A', query)).toEqual([jobA.job_id])
      expect(await ids('B', query)).toEqual([jobB.job_id])
      expect((await ids('admin', query)).sort()).toEqual([jobA.job_id, jobB.job_id].sort())
    }
    expect(await ids('A', '?status=queued')).toEqual([])
    expect(await call('none', 'GET', `${pipeline.status}/jobs`)).toBe(401)
  })

  it('streams to each key the events of its own jobs only, and every job to an admin key', async () => {
    const streams = Object.fromEntries(
      (['A', 'B', 'admin'] as const).map((caller) => [
        caller,
        openSse(`${pipeline.status}/events`, headers(caller)),
      ]),
    )
    for (const stream of Object.values(streams)) expect(await stream.status).toBe(200)
    const [a, b] = await Promise.all([upload('A'), upload('B')])
    await Promise.all([finished(a), finished(b)])
    const jobsSeen = async (caller: 'A' | 'B' | 'admin', count: number) => {
      const events = await streams[caller]?.waitFor(count)
      return [...new Set(events?.map((e) => e.data.job_id))].sort()
    }
    // queued, processing, ..., completed: at least three events a job.
    expect(await jobsSeen('admin', 6)).toEqual([a, b].sort())
    expect(await jobsSeen('A', 3)).toEqual([a])
    expect(await jobsSeen('B', 3)).toEqual([b])
    for (const stream of Object.values(streams)) stream.close()
    expect(streams.A?.events.every((e) => e.data.job_id === a)).toBe(true)
    expect(streams.B?.events.every((e) => e.data.job_id === b)).toBe(true)
  })

  it('lets only the owner (or an admin) delete a job, and keeps keys out of Redis', async () => {
    const id = await upload('A')
    await finished(id)
    expect(await call('B', 'DELETE', `${pipeline.status}/jobs/${id}`)).toBe(404)
    expect(await call('A', 'DELETE', `${pipeline.status}/jobs/${id}`)).toBe(204)
    expect(await call('A', 'DELETE', `${pipeline.status}/jobs/${id}`)).toBe(404)
    const other = await upload('B')
    await finished(other)
    expect(await call('admin', 'DELETE', `${pipeline.status}/jobs/${other}`)).toBe(204)
    // Only the keys' hash-derived ids are kept.
    const dump = JSON.stringify(await pipeline.store.client.hGetAll(pipeline.store.keys.job(jobA.job_id)))
    for (const key of [A, B, ADMIN]) expect(dump).not.toContain(key)
    expect(dump).toMatch(/"api_client":"key-[0-9a-f]{24}"/)
  })
})

describe('signed playback', () => {
  it('gives signed media URLs, and the HLS master plays through one with no header', async () => {
    const hls = jobA.playback?.hls ?? ''
    expect(new URL(hls).pathname).toMatch(
      new RegExp(`^/media/\\d+\\.[A-Za-z0-9_-]{43}/${jobA.job_id}/hls/master\\.m3u8$`),
    )
    for (const output of jobA.outputs) expect(output.url).toContain(new URL(hls).pathname.split('/hls/')[0])
    const { stderr } = await run('ffmpeg', [
      ...['-v', 'error', '-protocol_whitelist', 'http,tcp,file', '-i', local(hls)],
      ...['-map', '0', '-f', 'null', '-'],
    ])
    expect(stderr).toBe('')
    const range = await fetch(local(jobA.playback?.mp4), { headers: { Range: 'bytes=0-9' } })
    expect(range.status).toBe(206)
  })

  it('answers 403 to a tampered, expired or other-job token', async () => {
    const hls = new URL(jobA.playback?.hls ?? '').pathname
    const [, , token = '', id] = hls.split('/')
    const [expiry = '', signature = ''] = token.split('.')
    const flipped = `${signature.slice(0, -2)}${signature.at(-2) === 'A' ? 'B' : 'A'}${signature.at(-1)}`
    const tokenB = new URL(jobB.playback?.hls ?? '').pathname.split('/')[2]
    const expired = await new MediaSigner(SECRET, 60).sign(jobA.job_id, new Date(Date.now() - 3600_000))
    const cases: Array<[string, string, string]> = [
      ['tampered signature', `${expiry}.${flipped}`, 'forbidden'],
      ['tampered expiry', `${Number(expiry) + 60}.${signature}`, 'forbidden'],
      ['made for another job', tokenB ?? '', 'forbidden'],
      [
        'made with another secret',
        await new MediaSigner('x'.repeat(32), 3600).sign(id ?? '', new Date()),
        'forbidden',
      ],
      ['expired', expired, 'token_expired'],
    ]
    for (const [name, bad, error] of cases) {
      const res = await fetch(`${pipeline.status}/media/${bad}/${id}/hls/master.m3u8`)
      expect(res.status, name).toBe(403)
      expect((await res.json()).error, name).toBe(error)
    }
    // The same token still works, for every file of its job.
    expect((await fetch(`${pipeline.status}/media/${token}/${id}/360p.mp4`)).status).toBe(200)
  })

  it('refuses to start with API keys but no MEDIA_SIGNING_SECRET', () => {
    expect(() => statusConfig({ API_KEYS: A })).toThrow(/MEDIA_SIGNING_SECRET is required/)
    expect(() => statusConfig({ API_KEYS: A, MEDIA_SIGNING_SECRET: 'short' })).toThrow(/MEDIA_SIGNING_SECRET/)
  })
})

describe.each(['bun', 'deno'] as const)('keys and signed media on the %s status entry', (runtime) => {
  it('answers each key as Node does, and serves signed media, event streams and the console', async () => {
    const status = await spawnService('status', runtime, pipeline.env)
    try {
      const a = jobA.job_id
      expect(await call('A', 'GET', `${status.url}/jobs/${a}`)).toBe(200)
      expect(await call('B', 'GET', `${status.url}/jobs/${a}`)).toBe(404)
      expect(await call('none', 'GET', `${status.url}/jobs/${a}`)).toBe(401)
      expect(await call('A', 'GET', `${status.url}/stats`)).toBe(403)
      expect(await call('admin', 'GET', `${status.url}/dlq`)).toBe(200)
      expect(await call('none', 'GET', `${status.url}/events`)).toBe(401)
      expect(await call('A', 'GET', `${status.url}/events`)).toBe(200)
      // The signed URLs this runtime gives out play with no header; a tampered one is refused.
      const record = JobSchema.parse(
        await (await fetch(`${status.url}/jobs/${a}`, { headers: headers('A') })).json(),
      )
      const mp4 = new URL(record.playback?.mp4 ?? '').pathname
      const range = await fetch(`${status.url}${mp4}`, { headers: { Range: 'bytes=0-9' } })
      expect(range.status).toBe(206)
      expect((await range.arrayBuffer()).byteLength).toBe(10)
      const tampered = mp4.replace(/\.(.)/, (_, ch: string) => `.${ch === 'A' ? 'B' : 'A'}`)
      expect((await fetch(`${status.url}${tampered}`)).status).toBe(403)
      // The console loads with no key (it asks for one), and says that keys are on.
      expect(await call('none', 'GET', `${status.url}/`)).toBe(200)
      expect(await call('none', 'GET', `${status.url}/console/app.js`)).toBe(200)
      expect(await (await fetch(`${status.url}/console/config.json`)).json()).toMatchObject({ keys: true })
    } finally {
      await status.stop()
    }
  }, 60_000)
})
