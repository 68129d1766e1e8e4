/**
 * `/metrics` behind METRICS_TOKEN on every service (ingest, status, the webhook worker, the
 * transcoders), open when it is unset; and a real Prometheus scraping them with the
 * `authorization` of config/prometheus.yml, the token set and the shipped empty token file. Real
 * HTTP, real Redis, a real `prometheus` process.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { copyFile, readFile, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { createLogger } from '@vpp/shared'
import type { RunningService } from '@vpp/shared/node'
import { startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { startWebhooks, loadConfig as statusConfig } from '@vpp/status'
import { loadConfig as transcoderConfig } from '@vpp/transcoder'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import { eventually, type Pipeline, startPipeline } from './harness.ts'

const ROOT = new URL('..', import.meta.url).pathname
const TOKEN = 'metrics-token-0123456789abcdef'

let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let pipeline: Pipeline
let webhooks: RunningService | undefined
/** Each service's base URL: all with METRICS_TOKEN, and a transcoder without. */
const guarded: Record<string, string> = {}
let open = ''

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
  pipeline = await startPipeline(redis, join(dir.path, 'data'), { METRICS_TOKEN: TOKEN })
  webhooks = await startWebhooks(
    statusConfig({ ...pipeline.env, WEBHOOK_METRICS_PORT: '0' }),
    createLogger({ service: 'webhooks', level: 'silent' }),
  )
  guarded.ingest = pipeline.ingest
  guarded.status = pipeline.status
  guarded.transcoder = `http://127.0.0.1:${(await pipeline.transcoder()).port}`
  guarded.webhooks = `http://127.0.0.1:${webhooks.port}`
  open = `http://127.0.0.1:${(await pipeline.transcoder({ METRICS_TOKEN: '' })).port}`
})
afterAll(async () => {
  await webhooks?.close()
  await pipeline?.close()
  await redis?.stop()
  await dir?.remove()
})

const metrics = (base: string, authorization?: string) =>
  fetch(`${base}/metrics`, { headers: authorization === undefined ? {} : { authorization } })

describe('/metrics and METRICS_TOKEN', () => {
  it('answers 401 as JSON without the token, and the metrics with it, on every service', async () => {
    for (const [name, base] of Object.entries(guarded)) {
      for (const authorization of [undefined, 'Bearer ', `Bearer ${TOKEN}x`, `Basic ${TOKEN}`, TOKEN]) {
        const res = await metrics(base, authorization)
        expect(res.status, `${name} ${authorization}`).toBe(401)
        const body = await res.json()
        expect(body, `${name} ${authorization}`).toEqual({
          error: 'unauthorized',
          message: expect.any(String),
        })
        expect(JSON.stringify(body)).not.toContain(TOKEN)
      }
      const res = await metrics(base, `Bearer ${TOKEN}`)
      expect(res.status, name).toBe(200)
      expect(res.headers.get('content-type'), name).toMatch(/^text\/plain/)
      expect(await res.text(), name).toContain('process_cpu_seconds_total')
      // Probes carry no token.
      expect((await fetch(`${base}/healthz`)).status, name).toBe(200)
    }
  })

  it('is open with METRICS_TOKEN unset, also to the empty bearer Prometheus sends from an empty token file', async () => {
    for (const authorization of [undefined, 'Bearer ', `Bearer ${TOKEN}`]) {
      const res = await metrics(open, authorization)
      expect(res.status, authorization).toBe(200)
      expect(await res.text()).toContain('process_cpu_seconds_total')
    }
  })

  it('stops a service at start-up on a METRICS_TOKEN too short to be one, naming the variable', () => {
    expect(() => transcoderConfig({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN=\(hidden\)/)
    expect(() => statusConfig({ METRICS_TOKEN: 'has spaces in it, sixteen+' })).toThrow(/METRICS_TOKEN/)
  })

  it("is scraped by Prometheus with config/prometheus.yml's authorization: with the token, and with the shipped empty file", async () => {
    const shipped = join(ROOT, 'config')
    expect(await readFile(join(shipped, 'metrics-token'), 'utf8')).toBe('')
    const config = parse(await readFile(join(shipped, 'prometheus.yml'), 'utf8')) as {
      scrape_configs: Array<{ job_name: string; authorization?: { credentials_file?: string } }>
    }
    // The pipeline's jobs, each as shipped but for its target (here on loopback).
    const jobs = ['ingest', 'status', 'webhooks', 'transcoder'].map((name) => {
      const job = config.scrape_configs.find((c) => c.job_name === name)
      expect(job?.authorization, name).toEqual({ credentials_file: 'metrics-token' })
      return { job_name: name, authorization: job?.authorization, target: new URL(guarded[name] ?? '').host }
    })
    const here = await tempDir('vpp-prometheus-')
    let prometheus: ChildProcess | undefined
    try {
      await writeFile(join(here.path, 'metrics-token'), `${TOKEN}\n`)
      // The transcoder without a token, scraped with the file as shipped.
      await copyFile(join(shipped, 'metrics-token'), join(here.path, 'empty-token'))
      const scrape = (job: string, target: string, tokenFile: string) => ({
        job_name: job,
        scrape_interval: '1s',
        authorization: { credentials_file: tokenFile },
        static_configs: [{ targets: [target] }],
      })
      await writeFile(
        join(here.path, 'prometheus.yml'),
        stringify({
          scrape_configs: [
            ...jobs.map((j) => scrape(j.job_name, j.target, j.authorization?.credentials_file ?? '')),
            scrape('open', new URL(open).host, 'empty-token'),
          ],
        }),
      )
      const port = await freePort()
      prometheus = spawn(
        'prometheus',
        [
          `--config.file=${join(here.path, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(here.path, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
        ],
        { stdio: 'ignore' },
      )
      // No prometheus on PATH (scripts/install-system-deps.sh --ci installs it with promtool).
      let failed: Error | undefined
      prometheus.once('error', (error) => {
        failed = error
      })
      type Target = { labels: { job: string }; health: string; lastError: string }
      let targets: Target[] = []
      await eventually(
        async () => {
          if (failed) throw failed
          const res = await fetch(`http://127.0.0.1:${port}/api/v1/targets`).catch(() => null)
          if (res?.status !== 200) return false
          targets = ((await res.json()) as { data: { activeTargets: Target[] } }).data.activeTargets
          return targets.length === 5 && targets.every((t) => t.health !== 'unknown')
        },
        30_000,
        'a scrape of every target',
      )
      expect(
        targets.map((t) => [t.labels.job, t.health, t.lastError]).sort(),
        JSON.stringify(targets),
      ).toEqual(['ingest', 'open', 'status', 'transcoder', 'webhooks'].map((job) => [job, 'up', '']))
    } finally {
      prometheus?.kill('SIGKILL')
      await here.remove()
    }
  })
})

/** A TCP port free on loopback just now (Prometheus wants a fixed one). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}
