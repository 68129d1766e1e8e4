/**
 * The media row of bench/http.ts: one generated rendition, `OUTPUT_DIR/{job_id}/720p.mp4`, served
 * by the status service (the command of `npm run start:status`: Hono, serveStatic, a Redis
 * EXISTS and a log line per request) and by bench/media-bare-server.ts (node:http +
 * createReadStream, nothing else), each in its own process, the two alternating round by round.
 * Two loads: Range requests of 1-4 MiB at random offsets, and the whole file. Requests/s, MiB/s,
 * p50/p99, the server process's CPU time per MiB served, and its peak resident set (VmHWM)
 * before and after its run.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, open } from 'node:fs/promises'
import { join } from 'node:path'
import autocannon from 'autocannon'
import { cpuSeconds, memory, round, sleep } from './lib.ts'

const MiB = 1024 ** 2
/** The whole-file load: a few clients downloading the rendition (autocannon counts a response when it ends). */
const WHOLE_FILE_CONNECTIONS = 4

export interface MediaBench {
  /** The repository's root: the servers' working directory. */
  root: string
  /** The status service's command (`start:status`'s, minus npm) and its environment (Redis). */
  status: { command: string; args: string[]; env: Record<string, string> }
  /** OUTPUT_DIR for both servers; the rendition is written in it. */
  outputDir: string
  /** A job that exists in Redis (the media route answers 404 for any other). */
  jobId: string
  size: number
  seconds: number
  connections: number
  rounds: number
  nextPort: () => number
}

/**
 * Writes `size` random bytes in base64's alphabet and returns their SHA-1. Not an MP4 (neither
 * server looks inside), and not arbitrary bytes: autocannon appends every body chunk to a string,
 * and ASCII decodes at copy speed where arbitrary bytes (random, or real H.264) take the UTF-8
 * replacement path at ~130 MiB/s, which made the client the bottleneck on 2 cores.
 */
async function writeRendition(path: string, size: number): Promise<string> {
  const hash = createHash('sha1')
  const file = await open(path, 'w')
  try {
    for (let written = 0; written < size; written += MiB) {
      const chunk = Buffer.from(randomBytes((3 * MiB) / 4).toString('base64')).subarray(0, size - written)
      hash.update(chunk)
      await file.write(chunk)
    }
  } finally {
    await file.close()
  }
  return hash.digest('hex')
}

/**
 * A player seeking through a video: each request asks for 1-4 MiB (a few seconds of 720p, what
 * hls.js or a browser's <video> fetches at a time) at a random, unaligned offset. Seeded, so both
 * servers get the same sequence of ranges.
 */
function randomRanges(size: number) {
  let seed = 0x5eed
  const random = () => {
    // mulberry32
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
  return (request: autocannon.Request): autocannon.Request => {
    const length = Math.min(size, MiB + Math.floor(random() * 3 * MiB) + 1)
    const start = Math.floor(random() * (size - length + 1))
    return { ...request, headers: { ...request.headers, range: `bytes=${start}-${start + length - 1}` } }
  }
}

/** Answers correctly, or throws: a fast server that serves the wrong bytes measures nothing. */
async function check(url: string, path: string, size: number, sha1: string) {
  const from = Math.floor(size / 3)
  const to = Math.min(size - 1, from + 999)
  const part = await fetch(url, { headers: { range: `bytes=${from}-${to}` } })
  const expected = Buffer.alloc(to - from + 1)
  const file = await open(path)
  await file.read(expected, 0, expected.length, from).finally(() => file.close())
  if (
    part.status !== 206 ||
    part.headers.get('content-range') !== `bytes ${from}-${to}/${size}` ||
    !Buffer.from(await part.arrayBuffer()).equals(expected)
  ) {
    throw new Error(`${url}: wrong answer to a Range request (${part.status})`)
  }
  const whole = await fetch(url)
  const hash = createHash('sha1')
  for await (const chunk of whole.body ?? []) hash.update(chunk)
  if (whole.status !== 200 || hash.digest('hex') !== sha1) throw new Error(`${url}: wrong whole file`)
}

async function waitFor(url: string, name: string) {
  for (
    let i = 0;
    !(await fetch(url, { method: 'HEAD' }).then(
      (r) => r.ok,
      () => false,
    ));
    i++
  ) {
    if (i > 150) throw new Error(`${name} did not start`)
    await sleep(100)
  }
}

/** The servers running now: stopped too if this process dies (autocannon throwing in a socket handler). */
const running = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of running) child.kill('SIGTERM')
})

async function stop(child: ChildProcess) {
  running.delete(child)
  if (child.exitCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  await exited
}

type Sample = {
  rps: number
  bytes: number
  p50: number
  p99: number
  cpuPerMiB: number
  before: number
  after: number
}

/** The media rows: per load, bare and status service (means over the rounds), then their ratio. */
export async function mediaRows(bench: MediaBench): Promise<Array<Record<string, unknown>>> {
  // autocannon keeps each body as a string, and a V8 string stops short of 512 MiB.
  if (bench.size > 256 * MiB)
    throw new Error('--media-size: 256MiB at most (autocannon keeps bodies as strings)')
  await mkdir(join(bench.outputDir, bench.jobId), { recursive: true })
  const file = join(bench.outputDir, bench.jobId, '720p.mp4')
  const sha1 = await writeRendition(file, bench.size)
  const path = `/media/${bench.jobId}/720p.mp4`

  const start = (mode: 'bare' | 'hono', port: number) =>
    mode === 'bare'
      ? spawn(
          process.execPath,
          ['--import', 'tsx', 'bench/media-bare-server.ts', String(port), bench.outputDir],
          { cwd: bench.root, stdio: ['ignore', 'ignore', 'inherit'] },
        )
      : spawn(bench.status.command, bench.status.args, {
          cwd: bench.root,
          env: {
            ...process.env,
            ...bench.status.env,
            STATUS_PORT: String(port),
            HOST: '127.0.0.1',
            OUTPUT_DIR: bench.outputDir,
            LOG_LEVEL: 'info',
          },
          stdio: ['ignore', 'ignore', 'inherit'],
        })

  const loads = [
    { name: 'Range 1-4 MiB', connections: bench.connections, ranges: true },
    {
      name: `whole file, ${WHOLE_FILE_CONNECTIONS} connections`,
      connections: WHOLE_FILE_CONNECTIONS,
      ranges: false,
    },
  ]
  const rows: Array<Record<string, unknown>> = []
  for (const load of loads) {
    const samples: Record<'bare' | 'hono', Sample[]> = { bare: [], hono: [] }
    for (let r = 0; r < bench.rounds; r++) {
      for (const mode of ['bare', 'hono'] as const) {
        const port = bench.nextPort()
        const url = `http://127.0.0.1:${port}${path}`
        const child = start(mode, port)
        running.add(child)
        try {
          await waitFor(mode === 'bare' ? url : `http://127.0.0.1:${port}/healthz`, mode)
          const before = await memory(child.pid ?? 0)
          await check(url, file, bench.size, sha1)
          const cpuBefore = await cpuSeconds(child.pid ?? 0)
          const result = await autocannon({
            url,
            connections: load.connections,
            duration: bench.seconds,
            ...(load.ranges ? { requests: [{ setupRequest: randomRanges(bench.size) }] } : {}),
          })
          const after = await memory(child.pid ?? 0)
          const cpu = (await cpuSeconds(child.pid ?? 0)) - cpuBefore
          if (result.non2xx > 0 || result.errors > 0) {
            throw new Error(`${mode} ${load.name}: ${result.non2xx} non-2xx, ${result.errors} errors`)
          }
          samples[mode].push({
            rps: result.requests.average,
            bytes: result.throughput.average,
            p50: result.latency.p50,
            p99: result.latency.p99,
            cpuPerMiB: (cpu * 1000) / (result.throughput.total / MiB),
            before: before.peak,
            after: after.peak,
          })
        } finally {
          await stop(child)
        }
      }
    }
    const mean = (mode: 'bare' | 'hono', key: keyof Sample) =>
      samples[mode].reduce((sum, s) => sum + s[key], 0) / (samples[mode].length || 1)
    const max = (mode: 'bare' | 'hono', key: keyof Sample) => Math.max(...samples[mode].map((s) => s[key]))
    const route = `/media/:job_id/720p.mp4 (${round(bench.size / MiB)} MiB), ${load.name}`
    for (const mode of ['bare', 'hono'] as const) {
      rows.push({
        route,
        server: mode === 'hono' ? 'status service (Hono)' : 'bare node:http',
        'req/s': round(mean(mode, 'rps')),
        'MiB/s': Math.round(mean(mode, 'bytes') / MiB),
        'p50 ms': round(mean(mode, 'p50')),
        'p99 ms': round(mean(mode, 'p99')),
        'server CPU ms/MiB': round(mean(mode, 'cpuPerMiB'), 2),
        'peak RSS before MB': Math.round(max(mode, 'before')),
        'peak RSS after MB': Math.round(max(mode, 'after')),
      })
    }
    rows.push({
      route,
      server: 'ratio Hono / bare',
      'req/s': round(mean('hono', 'rps') / mean('bare', 'rps'), 2),
      'MiB/s': round(mean('hono', 'bytes') / mean('bare', 'bytes'), 2),
      'p99 ms': round(mean('hono', 'p99') / mean('bare', 'p99'), 2),
      'server CPU ms/MiB': round(mean('hono', 'cpuPerMiB') / mean('bare', 'cpuPerMiB'), 2),
    })
  }
  return rows
}
