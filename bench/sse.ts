/**
 * SSE fan-out: --clients concurrent `GET /events` streams on one status process (the very command
 * of `npm run start:status`) while this process creates jobs at --rate a second for --seconds
 * (each create appends one `job.queued` to the event log). Per event and client, latency = the
 * chunk's arrival at the client - the ms of the event's stream id (Redis's clock; same machine).
 * The status process's RSS (VmRSS) before the clients, once they are connected, during the
 * events (1/s: at 10 s, at the end, the max) and after; per client = (connected - before) / N.
 * Every client must get every event once. Baseline: bench/sse-bare-server.ts, a bare node:http
 * server with one XREAD loop writing each event to every response (node-redis, none of the
 * project's code). Rounds alternate bare, status, bare, status, ...; ratios are status / bare.
 * The clients run in --workers processes of their own (bench/sse-clients.ts), Redis in another.
 *
 *   npm run bench:sse -- [--clients 1000] [--rate 20] [--seconds 30] [--rounds 2] [--workers 1]
 *     [--node-flags='--cpu-prof --cpu-prof-dir=DIR'] [--output bench/results/sse.json]
 *
 * Needs `ulimit -n` above the clients (each server holds one descriptor per client).
 */
import { type ChildProcess, fork, spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createLogger, openJobStore } from '@vpp/shared'
import { freePort, startRedisServer } from '@vpp/shared/node'
import { queuedJob, tempDir } from '@vpp/shared/testing'
import { cpuSeconds, memory, report, round, sleep } from './lib.ts'

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '30' },
    rounds: { type: 'string', default: '2' },
    workers: { type: 'string', default: '1' },
    'node-flags': { type: 'string', default: '' },
    output: { type: 'string' },
  },
})
const clients = Number(values.clients)
const rate = Number(values.rate)
const seconds = Number(values.seconds)
const rounds = Number(values.rounds)
const workers = Math.min(clients, Number(values.workers))
/** The "early" RSS sample that the last one is compared with (flat: no growth with events sent). */
const early = Math.min(10, Math.floor(seconds / 3))
for (const [name, n] of Object.entries({ clients, rate, seconds, rounds, workers })) {
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} ${n}: expected a positive integer`)
}

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const limits = await readFile('/proc/self/limits', 'utf8')
const openFiles = Number(
  /Max open files\s+(\d+|unlimited)/.exec(limits)?.[1]?.replace('unlimited', 'Infinity'),
)
if (openFiles < clients + 256) {
  throw new Error(
    `ulimit -n is ${openFiles}: ${clients} clients need ${clients + 256}; run ulimit -n 4096 first`,
  )
}
// The very command `npm run start:status` runs, minus npm (so the pid is the service's).
const { scripts } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>
}
const [node, ...statusArgs] = (scripts['start:status'] ?? '').split(' ')
if (node !== 'node') throw new Error('start:status is expected to run node')
// Extra node flags for both servers, for looking inside (`--cpu-prof --cpu-prof-dir=DIR`, `--trace-gc`).
const nodeFlags = (values['node-flags'] ?? '').split(' ').filter(Boolean)

const dir = await tempDir('vpp-bench-sse-')
const redis = await startRedisServer({ dir: dir.path, persistent: false })
const prefix = 'benchsse'
const store = await openJobStore(
  { REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix },
  createLogger({ service: 'bench', level: 'warn' }),
)
const env = { ...process.env, REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix }

type Server = 'bare' | 'status'
const NAMES: Record<Server, string> = {
  bare: 'bare node:http + XREAD',
  status: `status service (${node} ${statusArgs.join(' ')})`,
}

function start(server: Server, port: number): ChildProcess {
  const args =
    server === 'status'
      ? [...nodeFlags, ...statusArgs]
      : [...nodeFlags, '--import', 'tsx', 'bench/sse-bare-server.ts']
  return spawn(process.execPath, server === 'bare' ? [...args, String(port)] : args, {
    cwd: ROOT,
    env: server === 'status' ? { ...env, STATUS_PORT: String(port), HOST: '127.0.0.1' } : env,
    stdio: ['ignore', 'ignore', 'inherit'],
  })
}

async function stop(child: ChildProcess) {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

interface Result {
  type: 'result'
  latencies: Float64Array
  missed: number
  duplicated: number
  unexpected: number
  dropped: number
}

/** The client processes, `clients` streams split over `workers`, once all are connected. */
async function connect(port: number): Promise<ChildProcess[]> {
  const children = Array.from({ length: workers }, (_, w) =>
    fork(
      fileURLToPath(new URL('./sse-clients.ts', import.meta.url)),
      [String(port), String(Math.floor(clients / workers) + (w < clients % workers ? 1 : 0))],
      {
        execArgv: ['--import', 'tsx'],
        serialization: 'advanced',
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      },
    ),
  )
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve, reject) => {
          child.once('message', (message: { type: string; message?: string }) =>
            message.type === 'connected' ? resolve() : reject(new Error(message.message)),
          )
          child.once('exit', (code) => reject(new Error(`client process exited (${code})`)))
        }),
    ),
  )
  return children
}

/** Each client process's counts and latencies, once it has every event in `ids` (or gave up). */
function finish(children: ChildProcess[], ids: string[]): Promise<Result[]> {
  return Promise.all(
    children.map(
      (child) =>
        new Promise<Result>((resolve, reject) => {
          child.once('message', (message: Result) => resolve(message))
          child.once('exit', (code) => reject(new Error(`client process exited (${code})`)))
          child.send({ type: 'finish', ids })
        }),
    ),
  )
}

/** p-th percentiles (nearest rank, as lib.ts's percentile) of a sorted copy of `samples`. */
function percentiles(samples: Float64Array, ps: number[]): number[] {
  const sorted = samples.slice().sort()
  return ps.map(
    (p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0,
  )
}

interface Round {
  server: Server
  round: number
  connect_s: number
  /**
   * `early`, `end`: the samples at --seconds/3 (at most 10 s) and at the last event; `after`: 2 s
   * after it, clients still there; `left`: 1 s after they closed. `floor_first`, `floor_last`: the
   * lowest sample in the first and in the last `early` seconds (RSS right after a major GC: what
   * would show a leak through the garbage's sawtooth).
   */
  rss_mb: {
    before: number
    connected: number
    early: number
    end: number
    max: number
    after: number
    left: number
    floor_first: number
    floor_last: number
  }
  /** VmRSS once a second from the first event to the last (MB). */
  rss_timeline_mb: number[]
  /** The server's CPU time over the events, as a share of one core. */
  server_cpu: number
  /** The client processes' CPU time over the events, as a share of one core (all of them). */
  clients_cpu: number
  latency_ms: { p50: number; p99: number; max: number }
  events: number
  missed: number
  duplicated: number
  unexpected: number
  dropped: number
  latencies: Float64Array
}

let jobNumber = 0

async function measure(server: Server, roundNo: number): Promise<Round> {
  const listenOn = await freePort()
  const child = start(server, listenOn)
  try {
    for (
      let i = 0;
      !(await fetch(`http://127.0.0.1:${listenOn}/healthz`).then(
        (r) => r.ok,
        () => false,
      ));
      i++
    ) {
      if (i > 150) throw new Error(`${server} did not start`)
      await sleep(100)
    }
    const pid = child.pid ?? 0
    await sleep(1000)
    const before = (await memory(pid)).now
    const connecting = performance.now()
    const children = await connect(listenOn)
    const connectS = (performance.now() - connecting) / 1000
    await sleep(2000)
    const connected = (await memory(pid)).now

    const from = await store.events.lastId()
    const timeline: number[] = []
    const sampler = setInterval(() => {
      memory(pid).then(
        (m) => timeline.push(m.now),
        () => {},
      )
    }, 1000)
    const cpuBefore = await cpuSeconds(pid)
    const clientCpu = () =>
      Promise.all(children.map((c) => cpuSeconds(c.pid ?? 0))).then((s) => s.reduce((a, b) => a + b, 0))
    const clientCpuBefore = await clientCpu()
    const started = performance.now()
    const created: string[] = []
    for (let i = 0; i < rate * seconds; i++) {
      const wait = started + (i * 1000) / rate - performance.now()
      if (wait > 0) await sleep(wait)
      const id = `sse-${++jobNumber}`
      await store.create(queuedJob(id))
      created.push(id)
    }
    await sleep(1000 / rate)
    clearInterval(sampler)
    const cpu = (await cpuSeconds(pid)) - cpuBefore
    const clientsCpu = (await clientCpu()) - clientCpuBefore
    const busy = (performance.now() - started) / 1000

    const ids: string[] = []
    for (let cursor = from; ; ) {
      const page = await store.events.after(cursor, 1000)
      ids.push(...page.map((event) => event.id))
      if (page.length < 1000) break
      cursor = page.at(-1)?.id ?? cursor
    }
    await sleep(2000)
    const after = (await memory(pid)).now
    const results = await finish(children, ids)
    await Promise.all(
      children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)),
    )
    await sleep(1000)
    const left = (await memory(pid)).now
    for (const id of created) await store.delete(id)

    const latencies = new Float64Array(results.reduce((n, r) => n + r.latencies.length, 0))
    let offset = 0
    for (const r of results) {
      latencies.set(r.latencies, offset)
      offset += r.latencies.length
    }
    const [p50 = 0, p99 = 0, max = 0] = percentiles(latencies, [50, 99, 100])
    const sum = (key: 'missed' | 'duplicated' | 'unexpected' | 'dropped') =>
      results.reduce((n, r) => n + r[key], 0)
    const one = {
      server,
      round: roundNo,
      connect_s: round(connectS, 2),
      rss_mb: {
        before: round(before),
        connected: round(connected),
        early: round(timeline[early - 1] ?? Number.NaN),
        end: round(timeline.at(-1) ?? Number.NaN),
        max: round(Math.max(connected, ...timeline)),
        after: round(after),
        left: round(left),
        floor_first: round(Math.min(...timeline.slice(0, early))),
        floor_last: round(Math.min(...timeline.slice(-early))),
      },
      rss_timeline_mb: timeline.map((mb) => round(mb)),
      server_cpu: round(cpu / busy, 2),
      clients_cpu: round(clientsCpu / busy, 2),
      latency_ms: { p50: round(p50, 2), p99: round(p99, 2), max: round(max, 2) },
      events: ids.length,
      missed: sum('missed'),
      duplicated: sum('duplicated'),
      unexpected: sum('unexpected'),
      dropped: sum('dropped'),
      latencies,
    }
    const { latencies: _, rss_timeline_mb: __, ...brief } = one
    console.log(JSON.stringify(brief))
    return one
  } finally {
    await stop(child)
  }
}

// Other work on the machine skews the latencies most: the load averages are kept with the results.
const loadBefore = loadavg().map((n) => round(n, 2))
const measured: Round[] = []
try {
  for (let r = 1; r <= rounds; r++) {
    for (const server of ['bare', 'status'] as const) measured.push(await measure(server, r))
  }
} finally {
  await store.client.close()
  await redis.stop()
  await dir.remove()
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
const rows: Array<Record<string, unknown>> = []
const summary: Record<string, { perClient: number; p99: number }> = {}
for (const server of ['bare', 'status'] as const) {
  const runs = measured.filter((m) => m.server === server)
  const rss = (key: keyof Round['rss_mb']) => round(mean(runs.map((m) => m.rss_mb[key])))
  const perClient = mean(runs.map((m) => ((m.rss_mb.connected - m.rss_mb.before) * 1024) / clients))
  const all = new Float64Array(runs.reduce((n, m) => n + m.latencies.length, 0))
  let offset = 0
  for (const m of runs) {
    all.set(m.latencies, offset)
    offset += m.latencies.length
  }
  const [p50 = 0, p99 = 0, max = 0] = percentiles(all, [50, 99, 100])
  summary[server] = { perClient, p99 }
  const total = (key: 'missed' | 'duplicated' | 'dropped') => runs.reduce((n, m) => n + m[key], 0)
  rows.push({
    server: NAMES[server],
    'RSS before MB': rss('before'),
    'connected MB': rss('connected'),
    [`@${early}s MB`]: rss('early'),
    [`@${seconds}s MB`]: rss('end'),
    'max MB': rss('max'),
    'after MB': rss('after'),
    [`floor first→last ${early}s`]: `${rss('floor_first')} → ${rss('floor_last')}`,
    'KB/client': round(perClient),
    'p50 ms': round(p50, 1),
    'p99 ms': round(p99, 1),
    'max ms': round(max, 1),
    'CPU (cores)': round(mean(runs.map((m) => m.server_cpu)), 2),
    missed: total('missed'),
    'dup.': total('duplicated'),
    dropped: total('dropped'),
  })
}
rows.push({
  server: 'ratio status / bare',
  'KB/client': round((summary.status?.perClient ?? 0) / (summary.bare?.perClient ?? 1), 2),
  'p99 ms': round((summary.status?.p99 ?? 0) / (summary.bare?.p99 ?? 1), 2),
})
await report(
  `SSE: ${clients} clients on GET /events, ${rate} events/s for ${seconds} s, ${rounds} rounds each (alternating)`,
  rows,
  values.output,
  {
    clients,
    rate,
    seconds,
    client_processes: workers,
    node_flags: nodeFlags,
    load_average: { before: loadBefore, after: loadavg().map((n) => round(n, 2)) },
    rounds: measured.map(({ latencies: _, ...m }) => m),
  },
)
const bad = measured.filter((m) => m.missed || m.duplicated || m.unexpected || m.dropped)
if (bad.length) {
  console.error(
    `not every client got every event exactly once: ${bad.map((m) => `${m.server} round ${m.round}`).join(', ')}`,
  )
  process.exitCode = 1
}
