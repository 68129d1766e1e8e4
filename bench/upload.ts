/**
 * Upload throughput and memory over loopback. (1) One generated multipart upload of --size bytes
 * to the ingest service, started with the very command of `npm run start:ingest` (node flags
 * included) with a real redis-server, to a bare node:http server piping the body to a file, and
 * to the same bare server fsyncing the file before answering (ingest's durability). (2) On the
 * same ingest process, --tus-size bytes streamed from one file on disk, alternating --rounds
 * times a multipart `POST /upload` and a tus upload (tus-js-client, PATCHes of each of
 * --chunk-sizes), the uploads removed between rounds. MiB/s to the answer, and to the file on
 * disk (the answer, then an fdatasync of the uploaded file: a multipart upload is synced before
 * its 202, a tus PATCH is not), ingest CPU per MiB, and each server process's peak resident set
 * (VmHWM, Linux): over all its runs for (1), of each round alone for (2) (reset before it, so
 * "before" is the resident set the round started at).
 * Targets: ingest >= 0.9x the bare server's MiB/s; tus >= 0.8x multipart, peaking below 150 MB.
 *
 *   npm run bench:upload -- [--size 200MB] [--runs 3] [--tus-size 1GiB] [--rounds 3]
 *     [--chunk-sizes 64MiB,whole] [--only bare,ingest,tus] [--output bench/results/upload.json]
 *
 * `whole` is one PATCH of the whole file. With --only, the groups not run are kept from --output
 * as they were (`measured`: the machine and date of each group).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { parseSize } from '@vpp/shared'
import { MP4_HEAD, startTestRedis, tempDir } from '@vpp/shared/testing'
import { cpuSeconds, machine, memory, report, round, sleep } from './lib.ts'
import { emptyDir, multipartFile, resetPeak, syncDir, tusFile, writeSource } from './upload-tus.ts'

/** The rows this suite measures, in the order they are written; --only picks some. */
const GROUPS = ['bare', 'ingest', 'tus'] as const
type Group = (typeof GROUPS)[number]
type Row = Record<string, unknown>
/** The group a written row belongs to (rows keep the shape they always had: no group field). */
const groupOf = (row: Row): Group => {
  const server = String(row.server)
  if (server.startsWith('bare')) return 'bare'
  return server.startsWith('ingest (') || server.startsWith('ratio ingest') ? 'ingest' : 'tus'
}

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '200MB' },
    runs: { type: 'string', default: '3' },
    'tus-size': { type: 'string', default: '1GiB' },
    rounds: { type: 'string', default: '3' },
    'chunk-sizes': { type: 'string', default: '64MiB,whole' },
    only: { type: 'string', default: GROUPS.join(',') },
    output: { type: 'string' },
  },
})
const sizeOf = (flag: string, text = '') => {
  const bytes = parseSize(text)
  if (bytes === undefined) throw new Error(`--${flag} ${text}: expected a size like 1GB`)
  return bytes
}
const size = sizeOf('size', values.size)
const tusSize = sizeOf('tus-size', values['tus-size'])
const chunkSizes = (values['chunk-sizes'] ?? '')
  .split(',')
  .filter(Boolean)
  .map((text) => (text === 'whole' ? Number.POSITIVE_INFINITY : sizeOf('chunk-sizes', text)))
const only = new Set((values.only ?? '').split(',').filter(Boolean))
const unknown = [...only].filter((group) => !GROUPS.includes(group as Group))
if (unknown.length) throw new Error(`--only ${unknown.join(',')}: expected some of ${GROUPS.join(',')}`)

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const MiB = 1024 ** 2
const redis = await startTestRedis()
const dir = await tempDir('vpp-bench-upload-')
const uploadDir = join(dir.path, 'uploads')
// The very command `npm run start:ingest` runs, minus npm (so the pid is the service's).
const scripts = JSON.parse(await readFile(`${ROOT}/package.json`, 'utf8')).scripts as Record<string, string>
const [node, ...ingestArgs] = (scripts['start:ingest'] ?? '').split(' ')
if (node !== 'node') throw new Error('start:ingest is expected to run node')

/** Stream one multipart upload of `size` bytes (an MP4 head, then filler) to `port`. */
function upload(port: number): Promise<number> {
  const head = Buffer.from(
    '--b0undary\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n\r\n',
  )
  const tail = Buffer.from('\r\n--b0undary--\r\n')
  const chunk = Buffer.alloc(MiB, 0x5a)
  return new Promise<number>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/upload',
        headers: {
          'content-type': 'multipart/form-data; boundary=b0undary',
          'content-length': head.length + size + tail.length,
        },
      },
      (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      },
    )
    req.on('error', reject)
    let sent = 0
    const pump = () => {
      while (sent < size) {
        const n = Math.min(chunk.length, size - sent)
        const part =
          sent === 0
            ? Buffer.concat([head, MP4_HEAD, chunk.subarray(MP4_HEAD.length, n)])
            : chunk.subarray(0, n)
        sent += n
        if (!req.write(part)) return void req.once('drain', pump)
      }
      req.end(tail)
    }
    pump()
  })
}

/** Wait until `child` answers `probe` on `port`. */
async function ready(name: string, port: number, probe: string) {
  for (
    let i = 0;
    !(await fetch(`http://127.0.0.1:${port}${probe}`).then(
      (r) => r.ok,
      () => false,
    ));
    i++
  ) {
    if (i > 100) throw new Error(`${name} did not start`)
    await sleep(100)
  }
}

/** --runs generated multipart uploads of --size to a started server: one row. */
async function measure(name: string, child: ChildProcess, port: number) {
  const before = await memory(child.pid ?? 0)
  const speeds: number[] = []
  for (let run = 0; run < Number(values.runs); run++) {
    const started = performance.now()
    const status = await upload(port)
    if (status !== 202) throw new Error(`${name} answered ${status}`)
    speeds.push(size / MiB / ((performance.now() - started) / 1000))
  }
  const after = await memory(child.pid ?? 0)
  return {
    server: name,
    'MiB/s (mean)': round(speeds.reduce((a, b) => a + b, 0) / speeds.length),
    'MiB/s (best)': round(Math.max(...speeds)),
    'peak RSS before MB': Math.round(before.peak),
    'peak RSS after MB': Math.round(after.peak),
  }
}

async function stop(child: ChildProcess) {
  if (child.exitCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  await exited
}

/** A bare server's row: start it, measure, stop it. */
async function bare(name: string, port: number, sync: boolean) {
  const args = ['--import', 'tsx', 'bench/upload-bare-server.ts', String(port), dir.path]
  const child = spawn(process.execPath, sync ? [...args, 'sync'] : args, { cwd: ROOT, stdio: 'ignore' })
  try {
    await ready(name, port, '/')
    return await measure(name, child, port)
  } finally {
    await stop(child)
  }
}

/**
 * One round of the tus-vs-multipart comparison: a clean upload dir, the peak reset, one upload;
 * then its file flushed to disk, for the MiB/s of uploads at the same durability.
 */
async function timed(pid: number, send: () => Promise<unknown>) {
  await emptyDir(uploadDir)
  // The last round's files written back and gone: no round pays for the one before.
  execFileSync('sync')
  await resetPeak(pid)
  const before = await memory(pid)
  const cpu = await cpuSeconds(pid)
  const started = performance.now()
  await send()
  const answered = performance.now()
  const [peak, cpuAfter] = [(await memory(pid)).peak, await cpuSeconds(pid)]
  await syncDir(uploadDir)
  const mib = tusSize / MiB
  return {
    speed: mib / ((answered - started) / 1000),
    onDisk: mib / ((performance.now() - started) / 1000),
    cpuMsPerMiB: ((cpuAfter - cpu) * 1000) / mib,
    before: before.now,
    peak,
  }
}

type Run = Awaited<ReturnType<typeof timed>>

/** The tus group: --rounds alternating rounds of multipart and tus at each chunk size, one row each. */
async function compare(pid: number, port: number): Promise<Row[]> {
  const source = join(dir.path, 'source.mp4')
  await writeSource(source, tusSize)
  const sizeName = `${round(tusSize / MiB)} MiB`
  const chunkName = (chunk: number) =>
    Number.isFinite(chunk) ? `${round(chunk / MiB)} MiB PATCHes` : 'one PATCH'
  const runs = new Map<string, Array<Run>>()
  const add = (name: string, run: Run) => {
    runs.set(name, [...(runs.get(name) ?? []), run])
    console.error(`${name}: ${round(run.speed)} MiB/s, peak ${Math.round(run.peak)} MB`)
  }
  const multipartName = `ingest, ${sizeName} multipart (POST /upload)`
  for (let r = 0; r < Number(values.rounds); r++) {
    add(
      multipartName,
      await timed(pid, async () => {
        const status = await multipartFile(port, source, tusSize)
        if (status !== 202) throw new Error(`multipart upload answered ${status}`)
      }),
    )
    for (const chunk of chunkSizes) {
      const name = `ingest, ${sizeName} tus (tus-js-client, ${chunkName(chunk)})`
      add(name, await timed(pid, () => tusFile(`http://127.0.0.1:${port}/uploads`, source, chunk)))
    }
  }
  await emptyDir(uploadDir)
  const mean = (name: string, pick: (run: Run) => number) => {
    const all = (runs.get(name) ?? []).map(pick)
    return all.reduce((a, b) => a + b, 0) / all.length
  }
  const rows: Row[] = [...runs].map(([name, each]) => ({
    server: name,
    'MiB/s (mean)': round(mean(name, (run) => run.speed)),
    'MiB/s (best)': round(Math.max(...each.map((run) => run.speed))),
    'peak RSS before MB': Math.round(Math.max(...each.map((run) => run.before))),
    'peak RSS after MB': Math.round(Math.max(...each.map((run) => run.peak))),
    'MiB/s (rounds)': each.map((run) => round(run.speed)).join(' / '),
    'MiB/s on disk (mean)': round(mean(name, (run) => run.onDisk)),
    'CPU ms/MiB (mean)': round(
      mean(name, (run) => run.cpuMsPerMiB),
      2,
    ),
  }))
  for (const [name] of [...runs].slice(1)) {
    rows.push({
      server: `ratio ${name.slice(name.indexOf('tus ('))} / multipart`,
      'MiB/s (mean)': round(mean(name, (run) => run.speed) / mean(multipartName, (run) => run.speed), 2),
      'MiB/s on disk (mean)': round(
        mean(name, (run) => run.onDisk) / mean(multipartName, (run) => run.onDisk),
        2,
      ),
    })
  }
  return rows
}

const port = 18000 + Math.floor(Math.random() * 1000)
const rows: Row[] = []
try {
  if (only.has('bare')) {
    rows.push(await bare('bare node:http pipe to file', port, false))
    rows.push(await bare('bare node:http pipe to file + fsync', port + 2, true))
  }
  if (only.has('ingest') || only.has('tus')) {
    const name = `ingest (${scripts['start:ingest']})`
    const ingest = spawn(process.execPath, ingestArgs, {
      cwd: ROOT,
      env: {
        ...process.env,
        REDIS_URL: redis.url,
        DATA_DIR: dir.path,
        INGEST_PORT: String(port + 1),
        HOST: '127.0.0.1',
        MAX_FILE_SIZE: String(Math.max(size, tusSize) + MiB),
        RATE_LIMIT_PER_MINUTE: '0',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    })
    try {
      await ready(name, port + 1, '/healthz')
      if (only.has('ingest')) rows.push(await measure(name, ingest, port + 1))
      if (only.has('tus')) rows.push(...(await compare(ingest.pid ?? 0, port + 1)))
    } finally {
      await stop(ingest)
    }
  }

  // With --only, the groups not run this time stay as --output had them, each with the machine
  // and date it was measured on; the ingest / bare ratios come from the rows written.
  type Machine = ReturnType<typeof machine>
  type Written = { machine?: Machine; measured?: Partial<Record<Group, Machine>>; rows?: Row[] }
  const previous: Written = values.output
    ? await readFile(values.output, 'utf8').then(JSON.parse, () => ({}))
    : {}
  const now = machine()
  const measured: Partial<Record<Group, Machine>> = {}
  const kept = (group: Group) => {
    const fresh = only.has(group)
    const groupRows = (fresh ? rows : (previous.rows ?? [])).filter(
      (row) => groupOf(row) === group && !String(row.server).startsWith('ratio ingest'),
    )
    const on = fresh ? now : (previous.measured?.[group] ?? previous.machine)
    if (groupRows.length && on) measured[group] = on
    return groupRows
  }
  const [bareRows, ingestRows, tusRows] = GROUPS.map(kept) as [Row[], Row[], Row[]]
  const written = [...bareRows, ...ingestRows]
  const [plain, synced, ingest] = written.map((row) => Number(row['MiB/s (mean)']))
  if (plain && synced && ingest) {
    written.push({ server: 'ratio ingest / bare', 'MiB/s (mean)': round(ingest / plain, 2) })
    written.push({ server: 'ratio ingest / bare + fsync', 'MiB/s (mean)': round(ingest / synced, 2) })
  }
  written.push(...tusRows)
  await report(
    `Upload: ${values.size} multipart over loopback, ${values.runs} runs each; ${values['tus-size']} multipart vs tus, ${values.rounds} rounds alternating`,
    written,
    values.output,
    { size_bytes: size, tus_size_bytes: tusSize, measured },
  )
} finally {
  await redis.stop()
  await dir.remove()
}
