/**
 * Upload throughput and memory: one generated multipart upload of --size bytes over loopback to
 * (1) the ingest service, started with the very command of `npm run start:ingest` (node flags
 * included) with a real redis-server, (2) a bare node:http server piping the body to a file and
 * (3) the same bare server fsyncing the file before answering (ingest's durability). MiB/s, and
 * each server process's peak resident set (VmHWM, Linux) before and after.
 * Target: ingest >= 0.9x the bare server's MiB/s, with flat memory.
 *
 *   npm run bench:upload -- [--size 200MB] [--runs 3] [--output bench/results/upload.json]
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { request } from 'node:http'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { parseSize } from '@vpp/shared'
import { MP4_HEAD, startTestRedis, tempDir } from '@vpp/shared/testing'
import { memory, report, round, sleep } from './lib.ts'

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '200MB' },
    runs: { type: 'string', default: '3' },
    output: { type: 'string' },
  },
})
const size = parseSize(values.size ?? '') ?? Number.NaN
if (!Number.isFinite(size)) throw new Error(`--size ${values.size}: expected a size like 1GB`)

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const MiB = 1024 ** 2
const redis = await startTestRedis()
const dir = await tempDir('vpp-bench-upload-')
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

async function measure(name: string, child: ChildProcess, port: number, probe: string) {
  try {
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
  } finally {
    child.kill('SIGTERM')
    await new Promise((resolve) => child.once('exit', resolve))
  }
}

const port = 18000 + Math.floor(Math.random() * 1000)
const rows = []
try {
  rows.push(
    await measure(
      'bare node:http pipe to file',
      spawn(process.execPath, ['--import', 'tsx', 'bench/upload-bare-server.ts', String(port), dir.path], {
        cwd: ROOT,
        stdio: 'ignore',
      }),
      port,
      '/',
    ),
  )
  rows.push(
    await measure(
      'bare node:http pipe to file + fsync',
      spawn(
        process.execPath,
        ['--import', 'tsx', 'bench/upload-bare-server.ts', String(port + 2), dir.path, 'sync'],
        {
          cwd: ROOT,
          stdio: 'ignore',
        },
      ),
      port + 2,
      '/',
    ),
  )
  rows.push(
    await measure(
      `ingest (${scripts['start:ingest']})`,
      spawn(process.execPath, ingestArgs, {
        cwd: ROOT,
        env: {
          ...process.env,
          REDIS_URL: redis.url,
          DATA_DIR: dir.path,
          INGEST_PORT: String(port + 1),
          HOST: '127.0.0.1',
          MAX_FILE_SIZE: String(size + MiB),
          RATE_LIMIT_PER_MINUTE: '0',
          LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      }),
      port + 1,
      '/healthz',
    ),
  )
  const [bare = 0, bareSync = 0, ingest = 0] = (rows as unknown as Array<Record<string, number>>).map(
    (row) => row['MiB/s (mean)'] ?? 0,
  )
  rows.push({ server: 'ratio ingest / bare', 'MiB/s (mean)': round(ingest / bare, 2) })
  rows.push({ server: 'ratio ingest / bare + fsync', 'MiB/s (mean)': round(ingest / bareSync, 2) })
  await report(
    `Upload: ${values.size} multipart over loopback, ${values.runs} runs each`,
    rows,
    values.output,
    {
      size_bytes: size,
    },
  )
} finally {
  await redis.stop()
  await dir.remove()
}
