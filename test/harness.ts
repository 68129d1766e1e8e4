/**
 * Test harness for whole-pipeline tests: ingest and status in this process on free loopback
 * ports, transcoders in this process or as child processes (to SIGKILL them), one real Redis.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadConfig as ingestConfig, startIngest } from '@vpp/ingest'
import {
  baseConfigShape,
  closeRedis,
  createLogger,
  type Job,
  JobSchema,
  type JobStatus,
  type JobStore,
  openJobStore,
  type PlainRedisClient,
  parseEnv,
  UploadResponseSchema,
} from '@vpp/shared'
import type { RunningService } from '@vpp/shared/node'
import type { TestRedis } from '@vpp/shared/testing'
import { startStatus, loadConfig as statusConfig } from '@vpp/status'
import { startTranscoder, loadConfig as transcoderConfig } from '@vpp/transcoder'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const silent = (service: string) => createLogger({ service, level: 'silent' })

export interface Pipeline {
  env: Record<string, string>
  ingest: string
  status: string
  /** A store on its own connection, for looking into Redis. */
  store: JobStore
  upload(path: string, name?: string): Promise<string>
  uploadResponse(path: string, name?: string): Promise<Response>
  waitFor(id: string, statuses: JobStatus[], timeoutMs?: number): Promise<Job>
  /** A transcoder in this process (its env: the pipeline's plus `extra`). */
  transcoder(extra?: Record<string, string>): Promise<RunningService>
  /** A transcoder as a child process, which a test can SIGKILL. */
  childTranscoder(extra?: Record<string, string>): ChildTranscoder
  close(): Promise<void>
}

export interface ChildTranscoder {
  process: ChildProcess
  /** stderr so far, for failure messages. */
  stderr(): string
  /** Its log so far (JSON lines on stdout, warn and above), the last 20 000 characters. */
  logs(): string
  kill(signal: NodeJS.Signals): Promise<void>
}

export async function startPipeline(
  redis: TestRedis,
  dataDir: string,
  extra: Record<string, string> = {},
): Promise<Pipeline> {
  const env: Record<string, string> = {
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: redis.prefix(),
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    INGEST_PORT: '0',
    STATUS_PORT: '0',
    TRANSCODER_METRICS_PORT: '0',
    LOG_LEVEL: 'silent',
    // Tests upload in bursts from one address; the limit itself is tested in packages/ingest.
    RATE_LIMIT_PER_MINUTE: '0',
    ...extra,
  }
  const services: RunningService[] = []
  const children: ChildTranscoder[] = []
  const [ingest, status] = await Promise.all([
    startIngest(ingestConfig(env), silent('ingest')),
    startStatus(statusConfig(env), silent('status')),
  ])
  services.push(ingest, status)
  // The services' own Redis settings (REDIS_SENTINELS included).
  const store = await openJobStore(parseEnv(baseConfigShape, env), silent('test'))
  const ingestUrl = `http://127.0.0.1:${ingest.port}`
  const statusUrl = `http://127.0.0.1:${status.port}`

  const uploadResponse = async (path: string, name = path.split('/').pop() ?? 'video.mp4') => {
    const form = new FormData()
    form.append('file', new Blob([await readFile(path)]), name)
    return fetch(`${ingestUrl}/upload`, { method: 'POST', body: form })
  }

  return {
    env,
    ingest: ingestUrl,
    status: statusUrl,
    store,
    uploadResponse,
    async upload(path, name) {
      const res = await uploadResponse(path, name)
      if (res.status !== 202) throw new Error(`upload answered ${res.status}: ${await res.text()}`)
      return UploadResponseSchema.parse(await res.json()).job_id
    },
    async waitFor(id, statuses, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs
      let job: Job | null = null
      for (;;) {
        const res = await fetch(`${statusUrl}/jobs/${id}`).catch(() => null)
        if (res?.status === 200) {
          job = JobSchema.parse(await res.json())
          if (statuses.includes(job.status)) return job
        }
        if (Date.now() > deadline)
          throw new Error(`job ${id} did not reach ${statuses.join('|')}: ${JSON.stringify(job)}`)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    },
    async transcoder(more = {}) {
      const service = await startTranscoder(transcoderConfig({ ...env, ...more }), silent('transcoder'))
      services.push(service)
      return service
    },
    childTranscoder(more = {}) {
      const child = spawnTranscoder({ ...env, ...more })
      children.push(child)
      return child
    },
    async close() {
      for (const child of children) await child.kill('SIGKILL')
      for (const service of services.reverse()) await service.close()
      await closeRedis(store.client)
    },
  }
}

/** `npm run start:transcoder` as a child process (node + tsx, no npm in between). */
export function spawnTranscoder(env: Record<string, string>): ChildTranscoder {
  const child = spawn(process.execPath, ['--import', 'tsx', 'packages/transcoder/src/serve.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env, LOG_FORMAT: 'json', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  child.stdout?.on('data', (data: Buffer) => {
    stdout = (stdout + data.toString()).slice(-20_000)
  })
  let stderr = ''
  child.stderr?.on('data', (data: Buffer) => {
    stderr = (stderr + data.toString()).slice(-4000)
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return {
    process: child,
    stderr: () => stderr,
    logs: () => stdout,
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      await exited
    },
  }
}

/** Processes whose command line matches `pattern` (pgrep -f). */
export function processesMatching(pattern: string): string[] {
  try {
    return execFileSync('pgrep', ['-f', pattern]).toString().trim().split('\n').filter(Boolean)
  } catch {
    return [] // pgrep exits 1 when nothing matches
  }
}

/** Wait until `check` holds, polling. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

export type Runtime = 'node' | 'bun' | 'deno'

export interface ServiceProcess {
  url: string
  child: ChildProcess
  /** SIGTERM to its process group, SIGKILL if anything in it is left after 10 s; safe twice. */
  stop(): Promise<void>
}

/**
 * `npm run start:{service}` on `runtime` (`:bun`, `:deno`) as a child process, without npm in
 * between, in its own process group (`.bin/deno` is a Node shim that starts the real binary:
 * both go on stop). It listens on a port of its own choosing (`{SERVICE}_PORT=0`), read from its
 * "listening" log line.
 */
export async function spawnService(
  service: 'ingest' | 'status',
  runtime: Runtime,
  env: Record<string, string>,
): Promise<ServiceProcess> {
  const entry = `packages/${service}/src/serve${runtime === 'node' ? '' : `.${runtime}`}.ts`
  const [command, args] = {
    node: [process.execPath, ['--import', 'tsx', entry]],
    bun: [join(ROOT, 'node_modules', '.bin', 'bun'), [entry]],
    deno: [join(ROOT, 'node_modules', '.bin', 'deno'), ['run', '-A', entry]],
  }[runtime] as [string, string[]]
  const child = spawn(command, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      ...env,
      [`${service.toUpperCase()}_PORT`]: '0',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  let stderr = ''
  child.stderr?.on('data', (data: Buffer) => {
    stderr = (stderr + data.toString()).slice(-4000)
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const group = (signal: NodeJS.Signals) => {
    try {
      process.kill(-(child.pid ?? 0), signal)
    } catch {} // already gone
  }
  const stop = async () => {
    group('SIGTERM')
    await eventually(() => inGroup(child.pid).length === 0, 10_000, `${service} on ${runtime} to exit`).catch(
      () => group('SIGKILL'),
    )
    await exited
  }
  let stdout = ''
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${service} on ${runtime} did not start: ${stderr}`)),
      30_000,
    )
    const onData = (data: Buffer) => {
      stdout += data.toString()
      const listening = new RegExp(`"msg":"${service} listening","port":(\\d+)`).exec(stdout)
      if (!listening) return
      clearTimeout(timer)
      child.stdout?.off('data', onData).resume() // the request log lines are not needed
      resolve(Number(listening[1]))
    }
    child.stdout?.on('data', onData)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${service} on ${runtime} exited (${code}): ${stderr}`))
    })
  }).catch(async (error: Error) => {
    await stop()
    throw error
  })
  return { url: `http://127.0.0.1:${port}`, child, stop }
}

/** Processes in a process group (pgrep -g). */
function inGroup(group: number | undefined): string[] {
  try {
    return execFileSync('pgrep', ['-g', String(group)])
      .toString()
      .trim()
      .split('\n')
      .filter(Boolean)
  } catch {
    return [] // pgrep exits 1 when nothing matches
  }
}

/**
 * Every key under `prefix` whose name or value mentions `id` (SCAN is fine in a test): what is
 * left of a job that should be gone.
 */
export async function keysNaming(store: JobStore, prefix: string, id: string): Promise<string[]> {
  const found: string[] = []
  const client = store.client as PlainRedisClient // tests' Redis: REDIS_URL
  for await (const keys of client.scanIterator({ MATCH: `${prefix}:*`, COUNT: 1000 })) {
    for (const key of keys) {
      // The event log is history, capped by EVENTS_MAXLEN: it keeps the job's events, its
      // job.deleted last (what SSE clients resuming and webhooks read).
      if (key === store.keys.events) continue
      const type = await client.type(key)
      const text =
        type === 'string'
          ? await client.get(key)
          : type === 'zset'
            ? (await client.zRange(key, 0, -1)).join(' ')
            : type === 'set'
              ? (await client.sMembers(key)).join(' ')
              : type === 'hash'
                ? JSON.stringify(await client.hGetAll(key))
                : type === 'stream'
                  ? JSON.stringify(await client.xRange(key, '-', '+'))
                  : ''
      if (key.includes(id) || text?.includes(id)) found.push(key)
    }
  }
  return found
}
