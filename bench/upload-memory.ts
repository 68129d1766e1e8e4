/**
 * Peak memory of the ingest process while it receives one large upload: starts the command of
 * `npm run start:ingest` (node flags included) as its own process, with a real redis-server and
 * real HTTP on loopback, streams a generated multipart upload of --size bytes to POST /upload,
 * and reads the process's peak resident set (VmHWM, Linux) before and after.
 *
 *   npm run bench:upload-memory -- --size 1GB [--output results.json]
 */
import { spawn } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { parseSize } from '@vpp/shared'
import { MP4_HEAD, startTestRedis, tempDir } from '@vpp/shared/testing'

const { values } = parseArgs({
  options: { size: { type: 'string', default: '1GB' }, output: { type: 'string' } },
})
const size = parseSize(values.size ?? '') ?? Number.NaN
if (!Number.isFinite(size)) throw new Error(`--size ${values.size}: expected a size like 1GB`)

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const MiB = 1024 ** 2
const redis = await startTestRedis()
const dir = await tempDir('vpp-upload-memory-')
const port = 18000 + Math.floor(Math.random() * 1000)
// The very command `npm run start:ingest` runs, minus npm (so the pid is the service's).
const scripts = JSON.parse(await readFile(`${ROOT}/package.json`, 'utf8')).scripts as Record<string, string>
const [node, ...args] = (scripts['start:ingest'] ?? '').split(' ')
if (node !== 'node') throw new Error('start:ingest is expected to run node')
const ingest = spawn(process.execPath, args, {
  cwd: ROOT,
  env: {
    ...process.env,
    REDIS_URL: redis.url,
    DATA_DIR: dir.path,
    INGEST_PORT: String(port),
    HOST: '127.0.0.1',
    MAX_FILE_SIZE: String(size + MiB),
    LOG_LEVEL: 'warn',
  },
  stdio: ['ignore', 'ignore', 'inherit'],
})

/** Peak and current resident set of the ingest process, in MiB. */
async function memory(): Promise<{ peak: number; now: number }> {
  const status = await readFile(`/proc/${ingest.pid}/status`, 'utf8')
  const kib = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN)
  return { peak: kib('VmHWM') / 1024, now: kib('VmRSS') / 1024 }
}

try {
  for (let i = 0; ; i++) {
    const up = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (r) => r.ok,
      () => false,
    )
    if (up) break
    if (i > 100) throw new Error('ingest did not start')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  // Warm the routes once, so start-up allocation is not counted as the upload's.
  await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text())
  const before = await memory()

  const head = Buffer.from(
    '--b0undary\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n\r\n',
  )
  const tail = Buffer.from('\r\n--b0undary--\r\n')
  const chunk = Buffer.alloc(MiB, 0x5a)
  const started = performance.now()
  const status = await new Promise<number>((resolve, reject) => {
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
  const seconds = (performance.now() - started) / 1000
  const after = await memory()
  const result = {
    date: new Date().toISOString(),
    command: scripts['start:ingest'],
    size_bytes: size,
    status,
    seconds: Math.round(seconds * 100) / 100,
    mib_per_second: Math.round((size / MiB / seconds) * 10) / 10,
    peak_rss_before_mib: Math.round(before.peak),
    peak_rss_after_mib: Math.round(after.peak),
    rss_after_mib: Math.round(after.now),
  }
  console.table([result])
  if (values.output) await writeFile(values.output, `${JSON.stringify(result, null, 2)}\n`)
  if (status !== 202) process.exitCode = 1
} finally {
  ingest.kill('SIGTERM')
  await new Promise((resolve) => ingest.once('exit', resolve))
  await redis.stop()
  await dir.remove()
}
