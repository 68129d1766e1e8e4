/**
 * HTTP: `GET /jobs/{id}`, `GET /stats` and `GET /jobs` (a page of 20) through the real status service (Hono on
 * @hono/node-server, request logging on) against a bare node:http handler on a plain node-redis
 * client sending the same Redis commands (bench/http-server.ts; none of the project's code), each
 * server in its own process, loaded by autocannon from this one; the servers alternate over
 * --rounds, medians. Requests/second and p99 latency; target >= 0.9x the bare handler. Then
 * `GET /jobs/{id}` on the status service as each runtime runs it (`npm run start:status`, `start:status:bun`, `start:status:deno`). And the
 * media row (bench/http-media.ts): a --media-size rendition with Range, the status service vs a
 * bare node:http createReadStream server; MiB/s, requests/s, p99 and RSS; target >= 0.8x, RSS flat.
 *
 *   npm run bench:http -- [--seconds 10] [--connections 50] [--rounds 3] [--media-size 64MiB]
 *     [--only jobs,stats,list,media,runtimes] [--output bench/results/http.json]
 *
 * With --only, the groups not run are kept from --output as they were (`measured`: the machine
 * and date of each group).
 */
import { fork, spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createLogger, openJobStore, parseSize } from '@vpp/shared'
import { startRedisServer } from '@vpp/shared/node'
import { queuedJob, tempDir } from '@vpp/shared/testing'
import autocannon from 'autocannon'
import { mediaRows } from './http-media.ts'
import { cpuSeconds, machine, percentile, report, round } from './lib.ts'

/** The rows this suite measures, in the order they are written; --only picks some. */
const GROUPS = ['jobs', 'stats', 'list', 'media', 'runtimes'] as const
type Group = (typeof GROUPS)[number]
/** The group a written row belongs to (rows keep the shape they always had: no group field). */
const groupOf = (row: Record<string, unknown>): Group => {
  const route = String(row.route)
  if (route === '/jobs') return 'list'
  return route === '/stats' ? 'stats' : route.startsWith('/media/') ? 'media' : 'jobs'
}

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '3' },
    runtimes: { type: 'string', default: 'node,bun,deno' },
    'media-size': { type: 'string', default: '64MiB' },
    only: { type: 'string', default: GROUPS.join(',') },
    output: { type: 'string' },
  },
})
const only = new Set((values.only ?? '').split(',').filter(Boolean))
const unknown = [...only].filter((group) => !GROUPS.includes(group as Group))
if (unknown.length) throw new Error(`--only ${unknown.join(',')}: expected some of ${GROUPS.join(',')}`)
const mediaSize = parseSize(values['media-size'] ?? '') ?? Number.NaN
if (!Number.isFinite(mediaSize))
  throw new Error(`--media-size ${values['media-size']}: expected a size like 64MiB`)
const ROOT = fileURLToPath(new URL('..', import.meta.url))
// The very command `npm run start:status` runs, minus npm (so the pid is the service's).
const { scripts } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>
}
const [node, ...statusArgs] = (scripts['start:status'] ?? '').split(' ')
if (node !== 'node') throw new Error('start:status is expected to run node')

const dir = await tempDir('vpp-bench-http-')
const redis = await startRedisServer({ dir: dir.path, persistent: false })
const prefix = 'benchhttp'
const store = await openJobStore(
  { REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix },
  createLogger({ service: 'bench', level: 'silent' }),
)

const id = '0b3c5f0e-3c1e-4d8a-9a4e-2f1f0c6a9b7d'
const job = queuedJob(id, { filename: 'holiday.mp4' })
await store.create(job)
for (let i = 0; i < 200; i++) await store.create({ ...job, job_id: `filler-${i}` })

async function serve(mode: 'hono' | 'bare', port: number) {
  const child = fork(fileURLToPath(new URL('./http-server.ts', import.meta.url)), [mode, String(port)], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  })
  await new Promise((resolve) => child.once('message', resolve))
  for (let i = 0; i < 50; i++) {
    if (
      await fetch(`http://127.0.0.1:${port}/stats`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return child
}

const rows: Array<Record<string, unknown>> = []
let port = 18100 + Math.floor(Math.random() * 500)
const paths = { jobs: `/jobs/${id}`, stats: '/stats', list: '/jobs' } as const
for (const path of (['jobs', 'stats', 'list'] as const).filter((g) => only.has(g)).map((g) => paths[g])) {
  // Alternate the servers over --rounds (drift on a shared machine hits both alike), then the medians.
  const samples: Record<string, Array<{ rps: number; p50: number; p99: number; cpu: number }>> = {
    bare: [],
    hono: [],
  }
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const mode of ['bare', 'hono'] as const) {
      const child = await serve(mode, ++port)
      const cpuBefore = await cpuSeconds(child.pid ?? 0)
      const result = await autocannon({
        url: `http://127.0.0.1:${port}${path}`,
        connections: Number(values.connections),
        duration: Number(values.seconds),
      })
      // The server's own CPU a request: steadier than req/s on a machine others share.
      const cpu = ((await cpuSeconds(child.pid ?? 0)) - cpuBefore) / result.requests.total
      child.kill('SIGTERM')
      if (result.non2xx > 0 || result.errors > 0) {
        throw new Error(`${mode} ${path}: ${result.non2xx} non-2xx, ${result.errors} errors`)
      }
      samples[mode]?.push({
        rps: result.requests.average,
        p50: result.latency.p50,
        p99: result.latency.p99,
        cpu: cpu * 1e6,
      })
    }
  }
  // Medians over the rounds: one round disturbed by the shared machine moves a mean, not these.
  const mean = (mode: string, key: 'rps' | 'p50' | 'p99' | 'cpu') =>
    percentile(
      (samples[mode] ?? []).map((s) => s[key]),
      50,
    )
  const route = path.replace(id, ':job_id')
  const perRound = (samples.hono ?? []).map((s, i) =>
    round(s.rps / (samples.bare?.[i]?.rps ?? Number.NaN), 2),
  )
  const cpuOf = (mode: string) => (samples[mode] ?? []).map((s) => round(s.cpu)).join(', ')
  console.log(`${route}: Hono / bare by round ${perRound.join(', ')}`)
  console.log(`${route}: server CPU µs a request by round: bare ${cpuOf('bare')}; Hono ${cpuOf('hono')}`)
  for (const mode of ['bare', 'hono']) {
    rows.push({
      route,
      server: mode === 'hono' ? 'status service (Hono)' : 'bare node:http',
      'req/s': Math.round(mean(mode, 'rps')),
      'p50 ms': round(mean(mode, 'p50')),
      'p99 ms': round(mean(mode, 'p99')),
      'CPU µs/req': round(mean(mode, 'cpu')),
    })
  }
  rows.push({
    route,
    server: 'ratio Hono / bare',
    'req/s': round(mean('hono', 'rps') / mean('bare', 'rps'), 2),
    // Bare's CPU a request over Hono's: comparable with the req/s ratio (1: as cheap as bare).
    'CPU µs/req': round(mean('bare', 'cpu') / mean('hono', 'cpu'), 2),
  })
}

if (only.has('media')) {
  rows.push(
    ...(await mediaRows({
      root: ROOT,
      status: {
        command: process.execPath,
        args: statusArgs,
        env: { REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix },
      },
      outputDir: join(dir.path, 'output'),
      jobId: id,
      size: mediaSize,
      seconds: Number(values.seconds),
      connections: Number(values.connections),
      rounds: Number(values.rounds),
      nextPort: () => ++port,
    })),
  )
}

// The same service on each runtime (its npm script's command, minus npm).
const runtimeRows: Array<Record<string, unknown>> = []
const BIN = join(ROOT, 'node_modules/.bin/')
const commands: Record<string, [string, string[]]> = {
  node: [process.execPath, statusArgs],
  bun: [`${BIN}bun`, ['packages/status/src/serve.bun.ts']],
  deno: [`${BIN}deno`, ['run', '-A', 'packages/status/src/serve.deno.ts']],
}
for (const name of only.has('runtimes') ? (values.runtimes ?? '').split(',').filter(Boolean) : []) {
  const [command, args] = commands[name] ?? ['', []]
  const runtimePort = ++port
  const child = spawn(command, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: prefix,
      STATUS_PORT: String(runtimePort),
      HOST: '127.0.0.1',
    },
    stdio: 'ignore',
    detached: true, // .bin/deno is a shim that starts the real binary: stop the whole group
  })
  for (
    let i = 0;
    !(await fetch(`http://127.0.0.1:${runtimePort}/healthz`).then(
      (r) => r.ok,
      () => false,
    ));
    i++
  ) {
    if (i > 150) throw new Error(`status on ${name} did not start`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const result = await autocannon({
    url: `http://127.0.0.1:${runtimePort}/jobs/${id}`,
    connections: Number(values.connections),
    duration: Number(values.seconds),
  })
  process.kill(-(child.pid ?? 0), 'SIGTERM')
  runtimeRows.push({
    runtime: name,
    'GET /jobs/:job_id req/s': Math.round(result.requests.average),
    'p99 ms': result.latency.p99,
  })
}

// With --only, the groups not run this time stay as --output had them, each with the machine and
// date it was measured on.
type Machine = ReturnType<typeof machine>
type Written = {
  machine?: Machine
  measured?: Partial<Record<Group, Machine>>
  runtimes?: Array<Record<string, unknown>>
  rows?: Array<Record<string, unknown>>
}
const previous: Written = values.output
  ? await readFile(values.output, 'utf8').then(JSON.parse, () => ({}))
  : {}
const now = machine()
const written: Array<Record<string, unknown>> = []
let runtimes: Array<Record<string, unknown>> = []
const measured: Partial<Record<Group, Machine>> = {}
for (const group of GROUPS) {
  const fresh = only.has(group)
  const groupRows =
    group === 'runtimes'
      ? fresh
        ? runtimeRows
        : (previous.runtimes ?? [])
      : (fresh ? rows : (previous.rows ?? [])).filter((row) => groupOf(row) === group)
  const on = fresh ? now : (previous.measured?.[group] ?? previous.machine)
  if (groupRows.length && on) measured[group] = on
  if (group === 'runtimes') runtimes = groupRows
  else written.push(...groupRows)
}
await report(`HTTP: ${values.connections} connections, ${values.seconds} s each`, written, values.output, {
  runtimes,
  measured,
})
if (runtimeRows.length) console.table(runtimeRows)
await store.client.close()
await redis.stop()
await dir.remove()
