/**
 * compose.yaml and the Dockerfile agree with the code: every variable compose sets is one the
 * service reads (and its value parses), every published port is the service's configured port,
 * and every healthcheck asks a route that answers 200 on the running service.
 * (`npm run check:deploy` also validates the file with docker-compose.)
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { loadConfig as ingestConfig, CONFIG_VARIABLES as ingestVariables } from '@vpp/ingest'
import { createLogger } from '@vpp/shared'
import type { RunningService } from '@vpp/shared/node'
import { startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { startWebhooks, loadConfig as statusConfig, CONFIG_VARIABLES as statusVariables } from '@vpp/status'
import { loadConfig as transcoderConfig, CONFIG_VARIABLES as transcoderVariables } from '@vpp/transcoder'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { type Pipeline, startPipeline } from './harness.ts'

const ROOT = new URL('..', import.meta.url).pathname

interface ComposeService {
  image?: string
  build?: { context: string; target: string }
  environment?: Record<string, string | number>
  ports?: string[]
  volumes?: string[]
  depends_on?: Record<string, { condition: string }>
  healthcheck?: { test: string[] }
  restart?: string
  deploy?: { replicas?: number }
  profiles?: string[]
  command?: string[]
}
let compose: { services: Record<string, ComposeService>; volumes: Record<string, unknown> }
let dockerfile = ''
let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let pipeline: Pipeline
let transcoderPort = 0
let webhooksPort = 0
let webhooks: RunningService | undefined

beforeAll(async () => {
  compose = parse(await readFile(join(ROOT, 'compose.yaml'), 'utf8'), { merge: true })
  dockerfile = await readFile(join(ROOT, 'Dockerfile'), 'utf8')
  redis = await startTestRedis()
  dir = await tempDir()
  pipeline = await startPipeline(redis, join(dir.path, 'data'))
  transcoderPort = (await pipeline.transcoder()).port
  webhooks = await startWebhooks(
    statusConfig({ ...pipeline.env, WEBHOOK_METRICS_PORT: '0' }),
    createLogger({ service: 'webhooks', level: 'silent' }),
  )
  webhooksPort = webhooks.port
})

afterAll(async () => {
  await webhooks?.close()
  await pipeline?.close()
  await redis?.stop()
  await dir?.remove()
})

/** A compose value as compose sees it with nothing set in the shell: `${X:-d}` is `d`. */
const interpolate = (value: string | number) =>
  String(value)
    .replace(/\$\{\w+:-([^}]*)\}/g, '$1')
    .replace(/\$\$/g, '$')

/** The environment compose gives a service, interpolated. */
function environment(name: string): Record<string, string> {
  const env = compose.services[name]?.environment ?? {}
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, interpolate(v)]))
}

/** `http://127.0.0.1:8000/healthz` out of a healthcheck command. */
function healthUrl(test: readonly string[] | undefined): URL {
  const match = /https?:\/\/[^'"`)\s]+/.exec((test ?? []).join(' '))
  if (!match) throw new Error(`no URL in healthcheck ${JSON.stringify(test)}`)
  return new URL(match[0])
}

const pipelineServices = {
  ingest: {
    variables: ingestVariables,
    port: (env: Record<string, string>) => ingestConfig(env).INGEST_PORT,
  },
  status: {
    variables: statusVariables,
    port: (env: Record<string, string>) => statusConfig(env).STATUS_PORT,
  },
  transcoder: {
    variables: transcoderVariables,
    port: (env: Record<string, string>) => transcoderConfig(env).TRANSCODER_METRICS_PORT,
  },
  webhooks: {
    variables: statusVariables,
    port: (env: Record<string, string>) => statusConfig(env).WEBHOOK_METRICS_PORT,
  },
}

/** The entry each image runs. */
const ENTRIES: Record<keyof typeof pipelineServices, string> = {
  ingest: 'packages/ingest/src/serve.ts',
  status: 'packages/status/src/serve.ts',
  transcoder: 'packages/transcoder/src/serve.ts',
  webhooks: 'packages/status/src/serve.webhooks.ts',
}

describe('compose.yaml', () => {
  it('sets only variables each service reads, with values its config accepts', () => {
    for (const [name, service] of Object.entries(pipelineServices)) {
      const env = environment(name)
      const unknown = Object.keys(env).filter((key) => !service.variables.includes(key))
      expect(unknown, name).toEqual([])
      expect(() => service.port(env), name).not.toThrow()
    }
    // With STORAGE_BACKEND=s3 too (the s3 profile).
    expect(transcoderConfig({ ...environment('transcoder'), STORAGE_BACKEND: 's3' })).toMatchObject({
      STORAGE_BACKEND: 's3',
      S3_BUCKET: 'videos',
      S3_ENDPOINT: 'http://minio:9000',
    })
  })

  it("publishes each service on its configured port, and Prometheus scrapes the transcoders' port", async () => {
    for (const name of ['ingest', 'status'] as const) {
      const configured = pipelineServices[name].port(environment(name))
      expect(compose.services[name]?.ports, name).toEqual([`${configured}:${configured}`])
    }
    // Replicas cannot share a host port: the transcoders publish none.
    expect(compose.services.transcoder?.ports).toBeUndefined()
    const prometheus = parse(await readFile(join(ROOT, 'config/prometheus.yml'), 'utf8'))
    const job = prometheus.scrape_configs.find((c: { job_name: string }) => c.job_name === 'transcoder')
    expect(job.dns_sd_configs[0].port).toBe(pipelineServices.transcoder.port(environment('transcoder')))
  })

  it('health-checks every service, on a route that answers 200 on the running service', async () => {
    const running: Record<string, string> = {
      ingest: pipeline.ingest,
      status: pipeline.status,
      transcoder: `http://127.0.0.1:${transcoderPort}`,
      webhooks: `http://127.0.0.1:${webhooksPort}`,
    }
    for (const [name, service] of Object.entries(compose.services)) {
      // The one-shot bucket creator exits when done; there is nothing to health-check.
      if (name !== 'createbucket') expect(service.healthcheck?.test, name).toBeDefined()
      if (!(name in pipelineServices)) continue
      const url = healthUrl(service.healthcheck?.test)
      const key = name as keyof typeof pipelineServices
      expect(Number(url.port), name).toBe(pipelineServices[key].port(environment(name)))
      const res = await fetch(`${running[name]}${url.pathname}`)
      expect(res.status, `${name} ${url.pathname}`).toBe(200)
    }
  })

  it('passes METRICS_TOKEN to every service, and Prometheus sends it from config/metrics-token', async () => {
    for (const name of Object.keys(pipelineServices)) {
      expect(compose.services[name]?.environment?.METRICS_TOKEN, name).toMatch(/^\$\{METRICS_TOKEN:-\}$/)
    }
    const prometheus = parse(await readFile(join(ROOT, 'config/prometheus.yml'), 'utf8'))
    for (const name of Object.keys(pipelineServices)) {
      const job = prometheus.scrape_configs.find((c: { job_name: string }) => c.job_name === name)
      expect(job?.authorization, name).toEqual({ credentials_file: 'metrics-token' })
    }
    // Prometheus reads it beside its config: the folder compose mounts.
    expect(compose.services.prometheus?.volumes).toContain('./config:/etc/prometheus:ro')
    expect(await readFile(join(ROOT, 'config/metrics-token'), 'utf8')).toBe('')
  })

  it('runs two transcoder replicas, Redis with its append-only file on a volume, restarts and start order', () => {
    const { services } = compose
    expect(services.transcoder?.deploy?.replicas).toBe(2)
    expect(environment('transcoder').WORKER_CONCURRENCY).toMatch(/^\d+$/)
    expect(services.redis?.command).toEqual(expect.arrayContaining(['--appendonly', 'yes']))
    expect(services.redis?.volumes).toEqual(['redis-data:/data'])
    for (const name of ['ingest', 'status', 'transcoder', 'webhooks']) {
      expect(services[name]?.depends_on?.redis?.condition, name).toBe('service_healthy')
      expect(services[name]?.build?.target, name).toBe(name)
    }
    // Ingest and the transcoders share the media volume (local storage).
    expect(services.ingest?.volumes).toEqual(['media:/data'])
    expect(services.transcoder?.volumes).toEqual(['media:/data'])
    for (const [name, service] of Object.entries(services)) {
      expect(service.restart, name).toBe(name === 'createbucket' ? 'no' : 'unless-stopped')
    }
    expect(services.grafana?.depends_on?.prometheus?.condition).toBe('service_healthy')
    expect(services.minio?.profiles).toEqual(['s3'])
    expect(services.createbucket?.profiles).toEqual(['s3'])
  })
})

describe('Dockerfile', () => {
  it('has a stage per service whose HEALTHCHECK asks the same route on the default port', () => {
    for (const [name, service] of Object.entries(pipelineServices)) {
      const stage = dockerfile
        .split(/^FROM /m)
        .find((s) => new RegExp(`AS ${name}\\b`).test(s.split('\n')[0] ?? ''))
      expect(stage, name).toBeDefined()
      const check = /HEALTHCHECK[^\n]*\\\n\s*CMD (.*)/.exec(stage ?? '')?.[1] ?? ''
      const port = /\|\|(\d+)\}/.exec(check)?.[1]
      expect(Number(port), name).toBe(service.port({}))
      expect(check, name).toContain('/healthz')
      expect(stage, name).toContain(ENTRIES[name as keyof typeof pipelineServices])
    }
    expect(dockerfile).toMatch(/^USER node$/m)
    expect(dockerfile).toMatch(/npm ci --omit=dev/)
    expect(dockerfile.split(/^FROM /m).find((s) => s.startsWith('app AS transcoder'))).toContain('ffmpeg')
  })
})
