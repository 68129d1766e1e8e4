/**
 * The ingest and status services run unchanged on Bun and on Deno (the project's own `bun` and
 * `deno` dev dependencies), against a real redis-server, with the Node transcoder doing the work:
 * an upload to the Bun ingest is read back `completed` from the Deno status, and the other way
 * round.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { JobSchema, UploadResponseSchema } from '@vpp/shared'
import { makeClip, startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, type Pipeline, startPipeline } from './harness.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const BIN = join(ROOT, 'node_modules', '.bin')
let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let pipeline: Pipeline
let clip = ''
const children: ChildProcess[] = []
const urls: Record<string, string> = {}
let nextPort = 19300 + Math.floor(Math.random() * 300)

/** Start `service` on `runtime` as the npm script does; resolves with its URL once /healthz answers. */
async function start(service: 'ingest' | 'status', runtime: 'bun' | 'deno'): Promise<string> {
  const port = nextPort++
  const entry = `packages/${service}/src/serve.${runtime}.ts`
  const args = runtime === 'bun' ? [entry] : ['run', '-A', entry]
  const child = spawn(join(BIN, runtime), args, {
    cwd: ROOT,
    env: {
      ...process.env,
      ...pipeline.env,
      [service === 'ingest' ? 'INGEST_PORT' : 'STATUS_PORT']: String(port),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
    // Its own process group: `.bin/deno` is a Node shim that starts the real binary, and both
    // must go on cleanup.
    detached: true,
  })
  let stderr = ''
  child.stderr?.on('data', (data: Buffer) => {
    stderr += data.toString()
  })
  children.push(child)
  const url = `http://127.0.0.1:${port}`
  const up = () =>
    fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    )
  // The service's stderr goes into the failure: read when it fails, not when the wait begins.
  await eventually(up, 30_000, `${service} on ${runtime}`).catch((error: Error) => {
    throw new Error(`${error.message}: ${stderr.slice(-1000)}`)
  })
  return url
}

/**
 * Processes still in our children's process groups (pgrep -g): ours only, not the Bun or Deno
 * services another test file may be running at the same time.
 */
function leftOver(): string[] {
  return children.flatMap((child) => {
    try {
      return execFileSync('pgrep', ['-g', String(child.pid)])
        .toString()
        .trim()
        .split('\n')
        .filter(Boolean)
    } catch {
      return [] // pgrep exits 1 when nothing matches
    }
  })
}

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
  clip = await makeClip(join(dir.path, 'clip.mp4'), { width: 640, height: 360, seconds: 1, audio: true })
  pipeline = await startPipeline(redis, join(dir.path, 'data'), { TRANSCODE_PROFILES: '360p,thumbnail' })
  await pipeline.transcoder()
  const started = await Promise.all([
    start('ingest', 'bun'),
    start('ingest', 'deno'),
    start('status', 'bun'),
    start('status', 'deno'),
  ])
  ;[urls.ingestBun, urls.ingestDeno, urls.statusBun, urls.statusDeno] = started
}, 120_000)

afterAll(async () => {
  const signalGroup = (child: ChildProcess, signal: NodeJS.Signals) => {
    try {
      process.kill(-(child.pid ?? 0), signal)
    } catch {} // already gone
  }
  for (const child of children) signalGroup(child, 'SIGTERM')
  await eventually(() => leftOver().length === 0, 10_000, 'runtimes to exit').catch(() => {
    for (const child of children) signalGroup(child, 'SIGKILL')
  })
  expect(leftOver()).toEqual([])
  await pipeline?.close()
  await redis?.stop()
  await dir?.remove()
})

async function uploadTo(ingest: string): Promise<string> {
  const form = new FormData()
  form.append('file', new Blob([await (await import('node:fs/promises')).readFile(clip)]), 'clip.mp4')
  const res = await fetch(`${ingest}/upload`, { method: 'POST', body: form })
  expect(res.status).toBe(202)
  expect(res.headers.get('x-request-id')).toBeTruthy()
  return UploadResponseSchema.parse(await res.json()).job_id
}

async function completedOn(status: string, id: string) {
  let job: ReturnType<typeof JobSchema.parse> | undefined
  await eventually(
    async () => {
      const res = await fetch(`${status}/jobs/${id}`)
      job = res.ok ? JobSchema.parse(await res.json()) : undefined
      return job?.status === 'completed' || job?.status === 'failed'
    },
    60_000,
    `job ${id} on ${status}`,
  )
  return job
}

describe('ingest and status on Bun and Deno', () => {
  it('Bun ingest -> Node transcoder -> Deno status', async () => {
    const job = await completedOn(urls.statusDeno ?? '', await uploadTo(urls.ingestBun ?? ''))
    expect(job).toMatchObject({ status: 'completed', filename: 'clip.mp4' })
    expect(job?.outputs.map((o) => o.profile)).toEqual(['360p', 'thumbnail'])
  })

  it('Deno ingest -> Node transcoder -> Bun status', async () => {
    const job = await completedOn(urls.statusBun ?? '', await uploadTo(urls.ingestDeno ?? ''))
    expect(job?.status).toBe('completed')
  })

  it('answers errors, stats and metrics the same way on every runtime', async () => {
    for (const ingest of [urls.ingestBun, urls.ingestDeno]) {
      const notes = new FormData()
      notes.append('file', new Blob(['#EXTM3U\nfile:///etc/passwd\n']), 'notes.mp4')
      const res = await fetch(`${ingest}/upload`, { method: 'POST', body: notes })
      expect(res.status, ingest).toBe(415)
      expect((await res.json()).error).toBe('invalid_file_type')
      expect(await (await fetch(`${ingest}/metrics`)).text()).toContain(
        'video_uploads_total{status="accepted"',
      )
    }
    for (const status of [urls.statusBun, urls.statusDeno]) {
      const stats = await (await fetch(`${status}/stats`)).json()
      expect(stats, status).toMatchObject({ total_jobs: 2, jobs_by_status: { completed: 2 } })
      expect((await fetch(`${status}/jobs/nope`)).status).toBe(404)
      expect(await (await fetch(`${status}/metrics`)).text()).toContain('processing_queue_size')
    }
  })

  it('serves the web console from status on every runtime', async () => {
    for (const status of [urls.statusBun, urls.statusDeno]) {
      const page = await fetch(`${status}/`)
      expect(page.status, status).toBe(200)
      expect(await page.text()).toContain('src="console/app.js"')
      for (const file of ['app.js', 'app.css', 'hls.js']) {
        const res = await fetch(`${status}/console/${file}`)
        expect(res.status, `${status} ${file}`).toBe(200)
        expect(res.headers.get('content-encoding'), `${status} ${file}`).toBe('gzip')
        expect((await res.text()).length, `${status} ${file}`).toBeGreaterThan(1000)
      }
      expect(await (await fetch(`${status}/console/config.json`)).json()).toMatchObject({ keys: false })
    }
  })

  it('serves /openapi.json and /docs with its own Swagger UI files on every runtime', async () => {
    for (const service of [urls.ingestBun, urls.ingestDeno, urls.statusBun, urls.statusDeno]) {
      const doc = await (await fetch(`${service}/openapi.json`)).json()
      expect(doc.openapi, service).toBe('3.1.0')
      const page = await fetch(`${service}/docs`)
      expect(page.status, service).toBe(200)
      expect(await page.text()).toContain('src="docs/swagger-ui-bundle.js"')
      for (const file of ['swagger-ui-bundle.js', 'swagger-ui.css']) {
        // fetch asks for gzip and decodes it: the bytes are the package's file either way.
        const res = await fetch(`${service}/docs/${file}`)
        expect(res.status, `${service} ${file}`).toBe(200)
        expect(res.headers.get('content-encoding'), `${service} ${file}`).toBe('gzip')
        expect((await res.text()).length, `${service} ${file}`).toBeGreaterThan(100_000)
      }
    }
  })
})
