/**
 * The metrics, read over HTTP from the running services, move as they should for one successful
 * and one failed job; and every metric the Grafana dashboard and the alert rules use is one the
 * services export (a renamed metric breaks this test, not the dashboard).
 */
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { loadConfig as ingestConfig } from '@vpp/ingest'
import { PROMETHEUS_SERIES } from '@vpp/shared'
import { MP4_HEAD, makeClip, startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { loadConfig as statusConfig } from '@vpp/status'
import { loadConfig as transcoderConfig } from '@vpp/transcoder'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { type Pipeline, startPipeline } from './harness.ts'

const ROOT = new URL('..', import.meta.url).pathname
let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let pipeline: Pipeline
let transcoderUrl = ''
const clips = { good: '', fake: '' }

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
  clips.good = await makeClip(join(dir.path, 'good.mp4'), {
    width: 640,
    height: 360,
    seconds: 1,
    audio: true,
  })
  clips.fake = join(dir.path, 'fake.mp4')
  await writeFile(clips.fake, Buffer.concat([MP4_HEAD, Buffer.from('not a movie at all')]))
  pipeline = await startPipeline(redis, join(dir.path, 'data'), { TRANSCODE_PROFILES: '360p,thumbnail' })
  transcoderUrl = `http://127.0.0.1:${(await pipeline.transcoder()).port}`
})

afterAll(async () => {
  await pipeline?.close()
  await redis?.stop()
  await dir?.remove()
})

type Sample = { name: string; labels: Record<string, string>; value: number }

/** GET /metrics and parse the Prometheus text format into samples. */
async function scrape(base: string): Promise<Sample[]> {
  const text = await (await fetch(`${base}/metrics`)).text()
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!match) throw new Error(`unparsable metrics line: ${line}`)
    const labels: Record<string, string> = {}
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key as string] = value as string
    }
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) })
  }
  return samples
}

/** The value of the one series named `name` whose labels include `labels` (0 when absent). */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  )
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} series`)
  return found[0]?.value ?? 0
}

const services = () => ({ ingest: pipeline.ingest, status: pipeline.status, transcoder: transcoderUrl })
async function scrapeAll() {
  const all: Record<string, Sample[]> = {}
  for (const [name, url] of Object.entries(services())) all[name] = await scrape(url)
  return all as Record<'ingest' | 'status' | 'transcoder', Sample[]>
}

describe('metrics over HTTP', () => {
  it('move by the expected amounts for one successful and one failed job', async () => {
    const before = await scrapeAll()
    const goodSize = (await readFile(clips.good)).length
    const fakeSize = (await readFile(clips.fake)).length
    const good = await pipeline.waitFor(await pipeline.upload(clips.good), ['completed', 'failed'])
    const bad = await pipeline.waitFor(await pipeline.upload(clips.fake), ['completed', 'failed'])
    expect([good.status, bad.status]).toEqual(['completed', 'failed'])
    const after = await scrapeAll()
    const delta = (service: keyof typeof after, name: string, labels: Record<string, string> = {}) =>
      value(after[service], name, labels) - value(before[service], name, labels)

    // Ingest: two accepted uploads of known sizes, two POST /upload answered 202.
    expect(delta('ingest', 'video_uploads_total', { status: 'accepted' })).toBe(2)
    expect(delta('ingest', 'video_upload_size_bytes_count')).toBe(2)
    expect(delta('ingest', 'video_upload_size_bytes_sum')).toBe(goodSize + fakeSize)
    expect(
      delta('ingest', 'http_request_duration_seconds_count', {
        method: 'POST',
        route: '/upload',
        status: '202',
      }),
    ).toBe(2)

    // Transcoder: one job completed (both renditions), one failed (counted for every profile).
    const processed = (status: string, profile: string) =>
      delta('transcoder', 'video_jobs_processed_total', { status, profile })
    expect(processed('completed', 'all')).toBe(1)
    expect(processed('completed', '360p')).toBe(1)
    expect(processed('completed', 'thumbnail')).toBe(1)
    expect(processed('failed', 'all')).toBe(1)
    expect(processed('failed', '360p')).toBe(1)
    expect(processed('failed', 'thumbnail')).toBe(1)
    expect(delta('transcoder', 'video_processing_duration_seconds_count', { profile: 'all' })).toBe(1)
    expect(delta('transcoder', 'video_processing_duration_seconds_count', { profile: '360p' })).toBe(1)
    expect(delta('transcoder', 'video_processing_duration_seconds_sum', { profile: 'all' })).toBeGreaterThan(
      0,
    )
    expect(delta('transcoder', 'video_queue_wait_seconds_count')).toBe(2)
    expect(delta('transcoder', 'video_job_retries_total')).toBe(0)
    expect(value(after.transcoder, 'video_active_jobs')).toBe(0)

    // Status: the failed job is in the DLQ; nothing waits.
    expect(delta('status', 'video_dlq_depth')).toBe(1)
    expect(value(after.status, 'processing_queue_size')).toBe(0)
    // Two GET /jobs/:job_id polls at least, by route pattern, never by id.
    expect(
      delta('status', 'http_request_duration_seconds_count', { route: '/jobs/:job_id', status: '200' }),
    ).toBeGreaterThanOrEqual(2)
    const labels = Object.values(after).flatMap((samples) => samples.flatMap((s) => Object.values(s.labels)))
    expect(labels).not.toContain(good.job_id)
    expect(labels.some((l) => l.includes(good.job_id))).toBe(false)

    // Default process metrics on every service.
    for (const samples of Object.values(after)) {
      expect(value(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0)
    }
  })

  it('returns X-Request-Id on every service', async () => {
    for (const url of Object.values(services())) {
      const res = await fetch(`${url}/healthz`, { headers: { 'x-request-id': 'req-42' } })
      expect(res.headers.get('x-request-id'), url).toBe('req-42')
    }
  })
})

/** PromQL words that are not metric names. */
const PROMQL_WORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'bool', 'offset'])

/** The metric names a PromQL expression reads. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // string literals
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // range selectors
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // label lists
  const names = new Set<string>()
  for (const match of bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const rest = bare.slice((match.index ?? 0) + match[0].length)
    if (/^\s*\(/.test(rest) || PROMQL_WORDS.has(match[0])) continue // a function, or a keyword
    if (/\d$/.test(bare.slice(0, match.index ?? 0))) continue // the exponent of 1e3
    names.add(match[0])
  }
  return [...names]
}

describe('dashboards and alert rules use only exported metrics', () => {
  it('reads metric names out of PromQL', () => {
    expect(
      metricNames(
        'histogram_quantile(0.95, sum by (le, profile) (rate(video_processing_duration_seconds_bucket{profile!="all"}[15m]))) > 600',
      ),
    ).toEqual(['video_processing_duration_seconds_bucket'])
    expect(metricNames('processing_queue_size > 0 and deriv(processing_queue_size[10m]) > 0')).toEqual([
      'processing_queue_size',
    ])
    expect(metricNames('absent(up{job="transcoder"} == 1)')).toEqual(['up'])
  })

  it('every expression of grafana/dashboards and config/alerts.yml names a metric the services export', async () => {
    const exprs: Array<{ where: string; expr: string }> = []
    for (const file of await readdir(join(ROOT, 'grafana/dashboards'))) {
      const dashboard = JSON.parse(await readFile(join(ROOT, 'grafana/dashboards', file), 'utf8')) as {
        panels: Array<{ title: string; targets?: Array<{ expr: string }> }>
      }
      for (const panel of dashboard.panels) {
        for (const target of panel.targets ?? [])
          exprs.push({ where: `${file} › ${panel.title}`, expr: target.expr })
      }
    }
    const rules = parse(await readFile(join(ROOT, 'config/alerts.yml'), 'utf8')) as {
      groups: Array<{ rules: Array<{ alert: string; expr: string }> }>
    }
    for (const rule of rules.groups.flatMap((g) => g.rules)) {
      exprs.push({ where: `alerts.yml › ${rule.alert}`, expr: rule.expr })
    }
    expect(exprs.length).toBeGreaterThan(15)

    // After a job has run, every labelled series exists.
    await pipeline.waitFor(await pipeline.upload(clips.good), ['completed'])
    const exported = new Set<string>(PROMETHEUS_SERIES)
    for (const samples of Object.values(await scrapeAll())) for (const s of samples) exported.add(s.name)
    const missing = exprs.flatMap(({ where, expr }) =>
      metricNames(expr)
        .filter((name) => !exported.has(name))
        .map((name) => `${where}: ${name}`),
    )
    expect(missing).toEqual([])
  })

  it('config/prometheus.yml scrapes every service on its configured port, and loads the alert rules', async () => {
    const config = parse(await readFile(join(ROOT, 'config/prometheus.yml'), 'utf8')) as {
      rule_files: string[]
      scrape_configs: Array<{
        job_name: string
        static_configs?: Array<{ targets: string[] }>
        dns_sd_configs?: Array<{ names: string[]; port: number }>
      }>
    }
    const job = (name: string) => config.scrape_configs.find((c) => c.job_name === name)
    expect(job('ingest')?.static_configs?.[0]?.targets).toEqual([`ingest:${ingestConfig({}).INGEST_PORT}`])
    expect(job('status')?.static_configs?.[0]?.targets).toEqual([`status:${statusConfig({}).STATUS_PORT}`])
    expect(job('transcoder')?.dns_sd_configs?.[0]).toMatchObject({
      names: ['transcoder'],
      port: transcoderConfig({}).TRANSCODER_METRICS_PORT,
    })
    expect(config.rule_files).toEqual(['alerts.yml'])
  })
})
