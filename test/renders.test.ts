/**
 * Thumbnails at a time and animated WebP previews, rendered on demand by status with real
 * ffmpeg from a job's real top rendition: local storage with API keys on, then S3 with keys off
 * and the chunked engine.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { createClient } from '@vpp/client'
import { type Job, JobSchema, UploadResponseSchema } from '@vpp/shared'
import { freePort } from '@vpp/shared/node'
import {
  makeClip,
  startTestRedis,
  startTestS3,
  type TestRedis,
  type TestS3,
  tempDir,
} from '@vpp/shared/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { run as vpp } from '../packages/cli/src/run.ts'
import { launchBrowser } from './browser.ts'
import { eventually, type Pipeline, startPipeline } from './harness.ts'

const run = promisify(execFile)
const A = 'renders-key-a-0123456789'
const B = 'renders-key-b-0123456789'
const auth = (key: string) => ({ Authorization: `Bearer ${key}` })

let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let clip = ''

beforeAll(async () => {
  ;[redis, dir] = await Promise.all([startTestRedis(), tempDir()])
  // 4 s: two chunks of CHUNK_SECONDS=2 in the S3 run.
  clip = await makeClip(join(dir.path, 'clip.mp4'), { width: 640, height: 360, seconds: 4, audio: true })
})
afterAll(async () => {
  await redis?.stop()
  await dir?.remove()
})

/** The number of frames of an animated WebP: its `ANMF` chunks (ffprobe 5.1 cannot decode one). */
function webpFrames(data: Buffer): number {
  if (data.toString('latin1', 0, 4) !== 'RIFF' || data.toString('latin1', 8, 12) !== 'WEBP') {
    throw new Error('not a WebP file')
  }
  let frames = 0
  for (let at = 12; at + 8 <= data.length; ) {
    const size = data.readUInt32LE(at + 4)
    if (data.toString('latin1', at, at + 4) === 'ANMF') frames++
    at += 8 + size + (size % 2)
  }
  return frames
}

/** SSIM (ffmpeg's `ssim`, All) of two images of the same size. */
async function ssim(a: string, b: string): Promise<number> {
  const { stderr } = await run('ffmpeg', [
    '-hide_banner',
    '-i',
    a,
    '-i',
    b,
    '-lavfi',
    'ssim',
    '-f',
    'null',
    '-',
  ])
  const match = /All:([\d.]+)/.exec(stderr)
  if (!match) throw new Error(`no SSIM in ${stderr}`)
  return Number(match[1])
}

async function upload(p: Pipeline, key?: string): Promise<string> {
  const form = new FormData()
  form.append('file', new Blob([await readFile(clip)]), 'clip.mp4')
  const res = await fetch(`${p.ingest}/upload`, { method: 'POST', body: form, headers: key ? auth(key) : {} })
  expect(res.status).toBe(202)
  return UploadResponseSchema.parse(await res.json()).job_id
}

async function completed(p: Pipeline, id: string, key?: string): Promise<Job> {
  let job: Job | undefined
  await eventually(
    async () => {
      const res = await fetch(`${p.status}/jobs/${id}`, { headers: key ? auth(key) : {} })
      job = JobSchema.parse(await res.json())
      if (job.status === 'failed') throw new Error(`job failed: ${job.error}`)
      return job.status === 'completed'
    },
    90_000,
    'the job to complete',
  )
  return job as Job
}

describe('renders on local storage, API keys on', () => {
  let p: Pipeline
  let output = ''
  let id = ''

  beforeAll(async () => {
    p = await startPipeline(redis, join(dir.path, 'local'), {
      API_KEYS: `${A},${B}`,
      MEDIA_SIGNING_SECRET: 's'.repeat(32),
      TRANSCODE_PROFILES: '360p,thumbnail',
      RENDER_CONCURRENCY: '1',
      RENDER_QUEUE: '0',
      RENDER_RATE_PER_MINUTE: '10',
      RENDER_MAX_PER_JOB: '6',
    })
    await p.transcoder()
    output = join(dir.path, 'local', 'output')
    id = await upload(p, A)
    await completed(p, id, A)
  }, 120_000)
  afterAll(() => p?.close())

  it('renders the frame at the time, once: SSIM >= 0.95 against ffmpeg, the second request renders nothing', async () => {
    const res = await fetch(`${p.status}/media/${id}/thumbnail.jpg?time=2.5&width=320`, { headers: auth(A) })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('image/jpeg')
    const got = join(dir.path, 'got.jpg')
    await writeFile(got, Buffer.from(await res.arrayBuffer()))
    const ref = join(dir.path, 'ref.png')
    // biome-ignore format: flag and value on one line
    await run('ffmpeg', ['-v', 'error', '-y', '-ss', '2.5', '-i', join(output, id, '360p.mp4'), '-frames:v', '1',
      '-vf', 'scale=320:-2', ref])
    expect(await ssim(got, ref)).toBeGreaterThanOrEqual(0.95)
    // Another time is another frame (testsrc2 moves): the render is of that time, not any frame.
    const other = join(dir.path, 'other.png')
    // biome-ignore format: flag and value on one line
    await run('ffmpeg', ['-v', 'error', '-y', '-ss', '0.5', '-i', join(output, id, '360p.mp4'), '-frames:v', '1',
      '-vf', 'scale=320:-2', other])
    expect(await ssim(got, other)).toBeLessThan(0.95)

    const file = join(output, id, 'renders', 'thumb-t2500-w320.jpg')
    const first = await stat(file)
    const again = await fetch(`${p.status}/media/${id}/thumbnail.jpg?time=2.5&width=320`, {
      headers: auth(A),
    })
    expect(again.status).toBe(200)
    await again.arrayBuffer()
    const second = await stat(file)
    expect([second.ino, second.mtimeMs]).toEqual([first.ino, first.mtimeMs])
  })

  it('serves the published thumbnail without time or width', async () => {
    const res = await fetch(`${p.status}/media/${id}/thumbnail.jpg`, { headers: auth(A) })
    expect(res.status).toBe(200)
    expect(Buffer.from(await res.arrayBuffer())).toEqual(await readFile(join(output, id, 'thumbnail.jpg')))
  })

  it('renders an animated WebP of round((end - start) * fps) frames, through a signed URL too', async () => {
    const job = JobSchema.parse(await (await fetch(`${p.status}/jobs/${id}`, { headers: auth(A) })).json())
    const signed = new URL(job.playback?.thumbnail ?? '')
    const url = `${p.status}${signed.pathname.replace(/thumbnail\.jpg$/, 'animated.webp')}?start=0.5&end=2.5&fps=10&width=160`
    const res = await fetch(url)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('image/webp')
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    const data = Buffer.from(await res.arrayBuffer())
    expect(webpFrames(data)).toBe(20)
    // The canvas is the width asked for (VP8X: 24-bit width - 1 at byte 24).
    expect(data.toString('latin1', 12, 16)).toBe('VP8X')
    expect(data.readUIntLE(24, 3) + 1).toBe(160)
  })

  it('refuses bad parameters with 400, and another key’s job with 404', async () => {
    const ask = (query: string, key = A) => fetch(`${p.status}/media/${id}/${query}`, { headers: auth(key) })
    // The rendition's duration (about 4.01 s) is what times are checked against.
    for (const [query, message] of [
      ['thumbnail.jpg?time=4.5', /^time must be at most 3\.9\d* s: the video is 4(\.\d+)? s long$/],
      ['thumbnail.jpg?width=301', 'width must be even (301 is not)'],
      ['thumbnail.jpg?width=1000', 'width must be a whole number from 16 to 640'],
      ['animated.webp?fps=31', 'fps must be a whole number from 1 to 30'],
      ['animated.webp?start=3&end=2', 'end must be after start'],
      ['animated.webp?end=9', /^end must be at most 4(\.\d+)? s: the video is 4(\.\d+)? s long$/],
    ] as const) {
      const res = await ask(query)
      expect(res.status, query).toBe(400)
      expect(await res.json()).toEqual({
        error: 'bad_request',
        message: typeof message === 'string' ? message : expect.stringMatching(message),
      })
    }
    const other = await ask('thumbnail.jpg?time=1', B)
    expect(other.status).toBe(404)
    expect((await other.json()).error).toBe('not_found')
  })

  it('answers 503 render_busy past RENDER_CONCURRENCY + RENDER_QUEUE', async () => {
    const answers = await Promise.all(
      [1, 2, 3].map((s) =>
        fetch(`${p.status}/media/${id}/animated.webp?start=0.${s}&end=3.${s}&fps=30&width=640`, {
          headers: auth(A),
        }),
      ),
    )
    const statuses = answers.map((res) => res.status).sort()
    expect(statuses).toContain(200)
    expect(statuses).toContain(503)
    const busy = answers.find((res) => res.status === 503)
    expect(busy?.headers.get('retry-after')).toBe('1')
    expect(await busy?.json()).toMatchObject({ error: 'render_busy' })
  })

  it('caps renders per job (429 render_limit), then per key a minute (429 rate_limited)', async () => {
    // Not in the last seconds of a minute: the count must stay in one window.
    if (Date.now() % 60_000 > 45_000) await new Promise((r) => setTimeout(r, 60_000 - (Date.now() % 60_000)))
    const mine = await upload(p, B)
    await completed(p, mine, B)
    const answers: Array<[number, string]> = []
    for (let width = 16; width <= 36; width += 2) {
      const res = await fetch(`${p.status}/media/${mine}/thumbnail.jpg?width=${width}`, { headers: auth(B) })
      answers.push([res.status, res.status === 200 ? 'ok' : (await res.json()).error])
      if (res.status === 200) await res.arrayBuffer()
    }
    expect(answers).toEqual([
      ...Array(6).fill([200, 'ok']),
      ...Array(4).fill([429, 'render_limit']),
      [429, 'rate_limited'],
    ])
    // A render already made is served past both limits.
    const made = await fetch(`${p.status}/media/${mine}/thumbnail.jpg?width=16`, { headers: auth(B) })
    expect(made.status).toBe(200)
  }, 90_000)

  it('is in the client (signed URLs) and the CLI (vpp thumbnail, vpp preview)', async () => {
    const client = createClient({ ingestUrl: p.ingest, statusUrl: p.status, apiKey: A })
    const job = await client.job(id)
    const url = client.thumbnailUrl(job, { time: 2.5, width: 320 })
    expect(url).toMatch(new RegExp(`/media/\\d+\\.[\\w-]+/${id}/thumbnail\\.jpg\\?time=2\\.5&width=320$`))
    // Signed: no key needed, and the render made above (same parameters) is what it answers.
    const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer())
    expect(Buffer.from(bytes)).toEqual(await readFile(join(output, id, 'renders', 'thumb-t2500-w320.jpg')))

    let stdout = ''
    const io = (key: string) => ({
      env: { VPP_STATUS_URL: p.status, VPP_INGEST_URL: p.ingest, VPP_API_KEY: key, XDG_STATE_HOME: dir.path },
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: () => true, isTTY: false },
      signal: new AbortController().signal,
    })
    const frame = join(dir.path, 'cli.jpg')
    expect(await vpp(['thumbnail', id, '--time', '2.5', '--width', '320', '-o', frame], io(A))).toBe(0)
    expect(await readFile(frame)).toEqual(await readFile(join(output, id, 'renders', 'thumb-t2500-w320.jpg')))
    expect(stdout).toMatch(/cli\.jpg: \d+ bytes/)
    const preview = join(dir.path, 'cli.webp')
    expect(
      await vpp(
        ['preview', id, '--start', '0.5', '--end', '2.5', '--fps', '10', '--width', '160', '-o', preview],
        io(A),
      ),
    ).toBe(0)
    expect(webpFrames(await readFile(preview))).toBe(20)
    expect(await vpp(['thumbnail', id, '--time', 'soon'], io(A))).toBe(2)
  })

  it('removes the renders with the job', async () => {
    expect(existsSync(join(output, id, 'renders'))).toBe(true)
    const res = await fetch(`${p.status}/jobs/${id}`, { method: 'DELETE', headers: auth(A) })
    expect(res.status).toBe(204)
    await eventually(async () => !existsSync(join(output, id)), 20_000, 'the job folder to go')
    const gone = await fetch(`${p.status}/media/${id}/thumbnail.jpg?time=1`, { headers: auth(A) })
    expect(gone.status).toBe(404)
  })
})

describe('renders on S3, keys off, a job encoded in chunks', () => {
  let s3: TestS3
  let p: Pipeline

  beforeAll(async () => {
    s3 = await startTestS3()
    p = await startPipeline(redis, join(dir.path, 's3'), {
      ...s3.env,
      TRANSCODE_PROFILES: '360p,thumbnail,hls',
      CHUNK_SECONDS: '2',
    })
    await p.transcoder()
  }, 60_000)
  afterAll(async () => {
    await p?.close()
    await s3?.stop()
  })

  it('renders from a presigned GET and redirects to the render; once', async () => {
    const id = await upload(p)
    // Encoded in chunks: its stream was playable before it completed.
    expect((await completed(p, id)).playable_at).toBeDefined()
    const url = `${p.status}/media/${id}/animated.webp?start=1&end=3&fps=15&width=320`
    const res = await fetch(url, { redirect: 'manual' })
    expect(res.status).toBe(302)
    const location = res.headers.get('location') ?? ''
    expect(location).toContain(`/outputs/${id}/renders/anim-s1000-e3000-f15-w320.webp`)
    const file = await fetch(location)
    expect(file.status).toBe(200)
    expect(webpFrames(Buffer.from(await file.arrayBuffer()))).toBe(30)
    const modified = file.headers.get('last-modified')
    const storage = s3.storage(join(dir.path, 'scratch'))
    expect(await storage.hasOutput(id, 'renders/anim-s1000-e3000-f15-w320.webp')).toBe(true)

    const again = await fetch(url, { redirect: 'manual' })
    expect(again.status).toBe(302)
    const second = await fetch(again.headers.get('location') ?? '')
    await second.arrayBuffer()
    expect(second.headers.get('last-modified')).toBe(modified)

    const thumb = await fetch(`${p.status}/media/${id}/thumbnail.jpg?time=3.5`, { redirect: 'follow' })
    expect(thumb.status).toBe(200)
    expect(thumb.headers.get('content-type')).toBe('image/jpeg')
    await thumb.arrayBuffer()

    expect((await fetch(`${p.status}/jobs/${id}`, { method: 'DELETE' })).status).toBe(204)
    await eventually(
      async () => !(await storage.hasOutput(id, 'renders/anim-s1000-e3000-f15-w320.webp')),
      20_000,
      'the render to go with the job',
    )
    storage.close()
  }, 120_000)
})

describe('renders in the console', () => {
  it('shows a frame at a chosen time, and the message of a refused one', async () => {
    const [statusPort, ingestPort] = [await freePort(), await freePort()]
    const p = await startPipeline(redis, join(dir.path, 'console'), {
      STATUS_PORT: String(statusPort),
      INGEST_PORT: String(ingestPort),
      PUBLIC_URL: `http://127.0.0.1:${statusPort}`,
      INGEST_PUBLIC_URL: `http://127.0.0.1:${ingestPort}`,
      TRANSCODE_PROFILES: '360p,thumbnail',
    })
    const browser = await launchBrowser()
    try {
      await p.transcoder()
      const id = await upload(p)
      await completed(p, id)
      const page = await browser.newPage()
      await page.goto(`${p.status}/#/jobs/${id}`)
      await page.getByLabel('At (s)').fill('1.5')
      await page.getByLabel('Width').fill('320')
      await page.getByRole('button', { name: 'Render' }).click()
      const frame = page.getByRole('img', { name: 'Frame of clip.mp4 at 1.5 s' })
      await frame.waitFor()
      expect(await frame.evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBe(320)
      expect(existsSync(join(dir.path, 'console', 'output', id, 'renders', 'thumb-t1500-w320.jpg'))).toBe(
        true,
      )
      await page.getByLabel('At (s)').fill('60')
      await page.getByRole('button', { name: 'Render' }).click()
      await page
        .getByRole('alert')
        .filter({ hasText: /time must be at most 3\.9\d* s/ })
        .waitFor()
      await browser.screenshot(page, 'console-renders')
    } finally {
      await browser.close()
      await p.close()
    }
  }, 120_000)
})
