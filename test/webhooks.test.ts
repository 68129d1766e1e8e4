/**
 * Webhooks from the event log: signed (Standard Webhooks, checked with the `standardwebhooks`
 * package), retried on the schedule with the same webhook-id, logged per job, delivered after
 * the sender is SIGKILLed, and refused for private targets at create. Real HTTP receivers on
 * loopback, real Redis, real ffmpeg.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { loadConfig as ingestConfig, startIngest } from '@vpp/ingest'
import { createLogger, toHash, UploadResponseSchema } from '@vpp/shared'
import type { RunningService } from '@vpp/shared/node'
import {
  makeClip,
  markPlayable,
  queuedJob,
  startTestRedis,
  type TestRedis,
  tempDir,
} from '@vpp/shared/testing'
import { startWebhooks, loadConfig as statusConfig } from '@vpp/status'
import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, type Pipeline, startPipeline } from './harness.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SECRET = `whsec_${Buffer.from('a webhook secret of 24 b').toString('base64')}`
/** Waits between attempts: 4 attempts in all. */
const SCHEDULE = [300, 600, 900]

interface Received {
  path: string
  headers: Record<string, string>
  body: string
  at: number
}

let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let pipeline: Pipeline
let webhooks: RunningService | undefined
let receiver: Server
let receiverUrl = ''
let clip = ''
const received: Received[] = []
/** Per path: how to answer the n-th request (0-based); default 204. */
const answers: Record<string, (n: number, res: ServerResponse) => void> = {}

const workerEnv = (): Record<string, string> => ({
  ...pipeline.env,
  WEBHOOK_SECRET: SECRET,
  WEBHOOK_URLS: `${receiverUrl}/all`,
  // job.playable too (jobs here make no HLS stream: only the test of it sends one).
  WEBHOOK_EVENTS: 'job.completed,job.failed,job.canceled,job.playable',
  WEBHOOK_RETRY_SCHEDULE: SCHEDULE.map((ms) => `${ms}ms`).join(','),
  WEBHOOK_TIMEOUT_MS: '1000',
  WEBHOOK_METRICS_PORT: '0',
  URL_IMPORT_ALLOW_PRIVATE: 'true',
})

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
  clip = await makeClip(`${dir.path}/clip.mp4`, { width: 320, height: 240, seconds: 1, audio: false })
  receiver = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = ''
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString()
    })
    req.on('end', () => {
      const path = req.url ?? '/'
      const n = received.filter((r) => r.path === path).length
      received.push({ path, headers: req.headers as Record<string, string>, body, at: Date.now() })
      const answer = answers[path]
      if (answer) answer(n, res)
      else res.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`
  // Receivers are on loopback: private targets are allowed here (refusal is tested below).
  pipeline = await startPipeline(redis, `${dir.path}/data`, {
    TRANSCODE_PROFILES: '360p',
    URL_IMPORT_ALLOW_PRIVATE: 'true',
  })
  await pipeline.transcoder()
  webhooks = await startWebhooks(
    statusConfig(workerEnv()),
    createLogger({ service: 'webhooks', level: 'silent' }),
  )
}, 60_000)
afterAll(async () => {
  await webhooks?.close()
  await pipeline?.close()
  receiver?.closeAllConnections()
  await new Promise((resolve) => receiver?.close(resolve))
  await redis?.stop()
  await dir?.remove()
})

async function upload(ingest: string, callbackUrl?: string): Promise<Response> {
  const form = new FormData()
  form.append('file', new Blob([await readFile(clip)]), 'clip.mp4')
  if (callbackUrl) form.append('callback_url', callbackUrl)
  return fetch(`${ingest}/upload`, { method: 'POST', body: form })
}
const jobWith = async (callbackUrl?: string) => {
  const res = await upload(pipeline.ingest, callbackUrl)
  expect(res.status).toBe(202)
  return UploadResponseSchema.parse(await res.json()).job_id
}
const deliveriesOf = async (id: string) =>
  (
    (await (await fetch(`${pipeline.status}/jobs/${id}/deliveries`)).json()) as {
      deliveries: Array<{
        event: string
        url: string
        attempt: number
        status_code: number | null
        error: string | null
        at: string
      }>
    }
  ).deliveries
const at = (path: string, id: string) => received.filter((r) => r.path === path && r.body.includes(id))

describe('webhooks', () => {
  it('retries a receiver that answers 500 twice with the same webhook-id, each signed, until its 204', async () => {
    answers['/flaky'] = (n, res) => res.writeHead(n < 2 ? 500 : 204).end()
    const id = await jobWith(`${receiverUrl}/flaky`)
    await eventually(() => at('/flaky', id).length >= 3, 20_000, 'three attempts')
    await new Promise((resolve) => setTimeout(resolve, SCHEDULE.at(-1)! * 2))
    const attempts = at('/flaky', id)
    expect(attempts).toHaveLength(3) // nothing after the 204
    const verifier = new Webhook(SECRET)
    for (const attempt of attempts) {
      const payload = verifier.verify(attempt.body, attempt.headers) as {
        type: string
        data: { status: string; job_id: string }
      }
      expect(payload).toMatchObject({ type: 'job.completed', data: { job_id: id, status: 'completed' } })
      expect(attempt.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/)
      expect(attempt.headers['webhook-id']).toBe(attempts[0]?.headers['webhook-id'])
    }
    // The body is the job as GET /jobs/{id} answers it.
    const record = await (await fetch(`${pipeline.status}/jobs/${id}`)).json()
    expect(JSON.parse(attempts[0]?.body ?? '').data).toEqual(record)
    // A tampered body fails verification.
    expect(() =>
      verifier.verify(attempts[0]?.body.replace('completed', 'failed') ?? '', attempts[0]?.headers ?? {}),
    ).toThrow()
    const log = (await deliveriesOf(id)).filter((d) => d.url.endsWith('/flaky'))
    expect(log.map((d) => [d.event, d.attempt, d.status_code])).toEqual([
      ['job.completed', 1, 500],
      ['job.completed', 2, 500],
      ['job.completed', 3, 204],
    ])
    // WEBHOOK_URLS got it too, once.
    expect(at('/all', id).map((r) => JSON.parse(r.body).type)).toEqual(['job.completed'])
  })

  it('sends job.playable to a target that selects it, with the job and its stream URL', async () => {
    // The record of a job a transcoder is running (none is: nothing else touches it).
    const id = 'playable-5d3c0a4e-1111-4222'
    const { store } = pipeline
    const job = queuedJob(id, { status: 'processing', attempts: 1, callback_url: `${receiverUrl}/playable` })
    await store.client.hSet(store.keys.job(id), toHash(job))
    await markPlayable(store, id, new Date())
    await eventually(() => at('/playable', id).length === 1 && at('/all', id).length === 1, 10_000, 'both')
    const record = await (await fetch(`${pipeline.status}/jobs/${id}`)).json()
    expect(record.playback?.hls).toMatch(new RegExp(`/media/${id}/hls/master\\.m3u8$`))
    for (const path of ['/playable', '/all']) {
      const [delivery] = at(path, id)
      expect(new Webhook(SECRET).verify(delivery?.body ?? '', delivery?.headers ?? {})).toEqual({
        type: 'job.playable',
        timestamp: expect.any(String),
        data: record,
      })
    }
    await eventually(async () => (await deliveriesOf(id)).length === 2, 5000, 'the deliveries logged')
    expect((await deliveriesOf(id)).map((d) => [d.event, d.status_code])).toEqual([
      ['job.playable', 204],
      ['job.playable', 204],
    ])
  })

  it('spaces attempts at a dead receiver by the schedule, then gives up, and the job completes on time', async () => {
    const dead = createServer()
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve))
    const deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}/hook`
    await new Promise((resolve) => dead.close(resolve))
    const started = Date.now()
    const id = await jobWith(deadUrl)
    const job = await pipeline.waitFor(id, ['completed', 'failed'], 30_000)
    expect(job.status).toBe('completed')
    // As long as the same job without a webhook takes (a few seconds here, nothing waits on it).
    expect(Date.now() - started).toBeLessThan(15_000)
    await eventually(
      async () => (await deliveriesOf(id)).filter((d) => d.url === deadUrl).length === SCHEDULE.length + 1,
      20_000,
      'every attempt at the dead receiver',
    )
    const log = (await deliveriesOf(id)).filter((d) => d.url === deadUrl)
    expect(log.map((d) => d.attempt)).toEqual([1, 2, 3, 4])
    for (const entry of log) expect(entry).toMatchObject({ status_code: null, error: 'ECONNREFUSED' })
    const times = log.map((d) => Date.parse(d.at))
    for (const [i, wait] of SCHEDULE.entries()) {
      expect(times[i + 1]! - times[i]!, `wait ${i + 1}`).toBeGreaterThanOrEqual(wait)
      expect(times[i + 1]! - times[i]!, `wait ${i + 1}`).toBeLessThan(wait + 1500)
    }
    // Given up: no fifth attempt.
    await new Promise((resolve) => setTimeout(resolve, 1500))
    expect((await deliveriesOf(id)).filter((d) => d.url === deadUrl)).toHaveLength(4)
    const metrics = await (await fetch(`http://127.0.0.1:${webhooks?.port}/metrics`)).text()
    expect(metrics).toMatch(/video_webhook_deliveries_total\{result="exhausted",service="webhooks"\} [1-9]/)
    expect(metrics).toMatch(/video_webhook_latency_seconds_count\{service="webhooks"\} [1-9]/)
  })

  it('delivers after the sender is SIGKILLed in the middle of the attempt, with the same webhook-id', async () => {
    await webhooks?.close()
    webhooks = undefined
    let first: ServerResponse | undefined
    answers['/crash'] = (n, res) => {
      if (n === 0)
        first = res // never answered: the sender dies waiting
      else res.writeHead(204).end()
    }
    const child = spawnWorker({ ...workerEnv(), WEBHOOK_URLS: '', WEBHOOK_TIMEOUT_MS: '3000' })
    try {
      const id = await jobWith(`${receiverUrl}/crash`)
      await eventually(() => at('/crash', id).length === 1, 30_000, 'the first attempt')
      child.kill('SIGKILL')
      await new Promise((resolve) => child.once('exit', resolve))
      first?.destroy()
      const again = spawnWorker({ ...workerEnv(), WEBHOOK_URLS: '', WEBHOOK_TIMEOUT_MS: '3000' })
      try {
        // Its lease (WEBHOOK_TIMEOUT_MS + 5 s) runs out, and the new worker sends it again.
        await eventually(() => at('/crash', id).length === 2, 20_000, 'the attempt after the restart')
        const [before, after] = at('/crash', id)
        expect(after?.headers['webhook-id']).toBe(before?.headers['webhook-id'])
        expect(new Webhook(SECRET).verify(after?.body ?? '', after?.headers ?? {})).toMatchObject({
          data: { job_id: id, status: 'completed' },
        })
        await eventually(
          async () => (await deliveriesOf(id)).some((d) => d.status_code === 204),
          5000,
          'the delivery logged',
        )
      } finally {
        again.kill('SIGKILL')
      }
    } finally {
      child.kill('SIGKILL')
    }
  }, 60_000)

  it('refuses a callback_url on a private address with 400 unless URL_IMPORT_ALLOW_PRIVATE', async () => {
    const strict = await startIngest(
      ingestConfig({ ...pipeline.env, URL_IMPORT_ALLOW_PRIVATE: 'false', INGEST_PORT: '0' }),
      createLogger({ service: 'ingest', level: 'silent' }),
    )
    try {
      const base = `http://127.0.0.1:${strict.port}`
      const res = await upload(base, 'http://127.0.0.1:9/hook')
      expect(res.status).toBe(400)
      expect(await res.json()).toMatchObject({ error: 'url_not_allowed' })
      const json = await fetch(`${base}/upload-url`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url: 'https://93.184.216.34/v.mp4', callback_url: 'http://169.254.169.254/' }),
      })
      expect(json.status).toBe(400)
      expect(await json.json()).toMatchObject({ error: 'url_not_allowed' })
      const bad = await fetch(`${base}/upload-url`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url: 'https://93.184.216.34/v.mp4', callback_url: 'ftp://example.com/' }),
      })
      expect(bad.status).toBe(400)
      expect(await bad.json()).toMatchObject({ error: 'bad_request' })
    } finally {
      await strict.close()
    }
  })
})

/** `npm run start:webhooks` as a child process, which a test can SIGKILL. */
function spawnWorker(env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'packages/status/src/serve.webhooks.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env, LOG_LEVEL: 'error' },
    stdio: 'ignore',
  })
}
