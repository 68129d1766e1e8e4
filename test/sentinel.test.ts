/**
 * Redis high availability with Debian's real redis-server and redis-sentinel on loopback: one
 * primary, one replica, three sentinels; ingest, status and a transcoder find the primary through
 * REDIS_SENTINELS, and ingest answers 202 only once a job's record is on a replica
 * (REDIS_MIN_REPLICAS=1). The primary is SIGKILLed while 200 small uploads are in flight (and
 * restarted once the sentinels have failed over, as a supervisor would: it rejoins as a replica).
 * Every upload answered 202 ends `completed`, exactly once; the others got 503, within the
 * sentinels' down-after time plus the failover; the services go on without a restart (status's
 * event feed, opened before the kill, carries the completion of a job uploaded after it).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { closeRedis, connectRedis, createLogger, type PlainRedisClient } from '@vpp/shared'
import { freePort, parentDeathSignal } from '@vpp/shared/node'
import { makeClip, type TestRedis, tempDir } from '@vpp/shared/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Pipeline, startPipeline } from './harness.ts'
import { openSse } from './sse.ts'

const MASTER = 'vpp-test'
const DOWN_AFTER_MS = 1000
const FAILOVER_TIMEOUT_MS = 3000
const UPLOADS = 200
const PREFIX = 'sentinel-test'
const silent = createLogger({ service: 'test', level: 'silent' })

let dir: Awaited<ReturnType<typeof tempDir>>
const processes = new Set<ChildProcess>()

/** A redis-server or redis-sentinel child; resolves once it logs that it is ready. */
function spawnRedis(bin: string, args: string[], ready: RegExp): Promise<ChildProcess> {
  const [command = bin, ...argv] = [...parentDeathSignal('KILL'), bin, ...args]
  const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'] })
  processes.add(child)
  child.once('exit', () => processes.delete(child))
  let output = ''
  return new Promise((resolve, reject) => {
    const onData = (data: Buffer) => {
      output += data.toString()
      if (ready.test(output)) {
        child.stdout?.off('data', onData)
        child.stdout?.resume()
        resolve(child)
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', (data: Buffer) => {
      output += data.toString()
    })
    child.once('error', (error) =>
      reject(new Error(`${bin}: ${error.message} (scripts/install-system-deps.sh --ci installs it)`)),
    )
    child.once('exit', (code) => reject(new Error(`${bin} exited (${code}): ${output.slice(-800)}`)))
  })
}

const server = (port: number, extra: string[] = []) =>
  spawnRedis(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      // A rejoining replica syncs at once, not after the default 5 s wait for others to join.
      '--repl-diskless-sync-delay',
      '0',
      '--dir',
      dir.path,
      ...extra,
    ],
    /Ready to accept connections/,
  )

async function sentinel(port: number, primaryPort: number): Promise<ChildProcess> {
  // Sentinels rewrite their configuration file: one each.
  const conf = `${dir.path}/sentinel-${port}.conf`
  await writeFile(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir.path}`,
      `sentinel monitor ${MASTER} 127.0.0.1 ${primaryPort} 2`,
      `sentinel down-after-milliseconds ${MASTER} ${DOWN_AFTER_MS}`,
      `sentinel failover-timeout ${MASTER} ${FAILOVER_TIMEOUT_MS}`,
      `sentinel parallel-syncs ${MASTER} 1`,
      '',
    ].join('\n'),
  )
  return spawnRedis('redis-sentinel', [conf], /Sentinel ID is/)
}

/** Ask a sentinel (or a server) something, on a plain connection of its own. */
async function askSentinel<T>(port: number, args: string[]): Promise<T> {
  const client = (await connectRedis(`redis://127.0.0.1:${port}`, silent)) as PlainRedisClient
  try {
    return (await client.sendCommand(args)) as T
  } finally {
    await closeRedis(client)
  }
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check().catch(() => false)) return
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

const ports = { primary: 0, replica: 0, sentinels: [0, 0, 0] }
let primary: ChildProcess
let pipeline: Pipeline
let clip = ''

beforeAll(async () => {
  dir = await tempDir()
  clip = await makeClip(`${dir.path}/tiny.mp4`, { width: 160, height: 90, seconds: 1, audio: false })
  ports.primary = await freePort()
  ports.replica = await freePort()
  ports.sentinels = [await freePort(), await freePort(), await freePort()]
  primary = await server(ports.primary)
  await server(ports.replica, ['--replicaof', '127.0.0.1', String(ports.primary)])
  for (const port of ports.sentinels) await sentinel(port, ports.primary)
  // Each sentinel knows the replica and the two other sentinels before anything is tested.
  for (const port of ports.sentinels) {
    await until('the sentinels to see the replica and each other', async () => {
      const replicas = await askSentinel<unknown[]>(port, ['SENTINEL', 'REPLICAS', MASTER])
      const others = await askSentinel<unknown[]>(port, ['SENTINEL', 'SENTINELS', MASTER])
      return replicas.length === 1 && others.length === 2
    })
  }
  // And the replica holds the primary's data (its first sync done).
  await until('the replica to sync', async () => {
    const info = await askSentinel<string>(ports.replica, ['INFO', 'replication'])
    return info.includes('master_link_status:up')
  })
  const sentinels = ports.sentinels.map((port) => `127.0.0.1:${port}`).join(',')
  pipeline = await startPipeline(
    { url: `redis://127.0.0.1:${ports.primary}`, prefix: () => PREFIX } as TestRedis,
    `${dir.path}/data`,
    {
      REDIS_SENTINELS: sentinels,
      REDIS_SENTINEL_MASTER: MASTER,
      REDIS_MIN_REPLICAS: '1',
      REDIS_COMMAND_TIMEOUT_MS: '2000',
      CLAIM_IDLE_MS: '3000',
    },
  )
  await pipeline.transcoder({ WORKER_CONCURRENCY: '2' })
}, 60_000)

afterAll(async () => {
  await pipeline?.close().catch(() => {})
  for (const child of processes) child.kill('SIGKILL')
  await dir?.remove()
})

interface Answer {
  status: number
  at: number
  jobId?: string
}

/** Counts of `job.completed` in the event log, by job. */
async function completions(): Promise<Map<string, number>> {
  const counts = new Map<string, number>()
  const entries = await pipeline.store.redis.call(
    pipeline.store.client.xRange(pipeline.store.keys.events, '-', '+'),
  )
  for (const entry of entries) {
    const { type, job_id: id } = entry.message
    if (type === 'job.completed' && id) counts.set(id, (counts.get(id) ?? 0) + 1)
  }
  return counts
}

describe('Redis Sentinel failover', () => {
  it('loses no job answered 202 when the primary is SIGKILLed mid-burst, and refuses the rest with 503 for a bounded time', async () => {
    // Status's live feed, opened before the kill, stays open through the failover.
    const feed = openSse(`${pipeline.status}/events`)
    expect(await feed.status).toBe(200)
    const answers: Answer[] = []
    let killedAt = 0
    let next = 0
    const bytes = await readFile(clip)
    const uploadOne = async (): Promise<Answer> => {
      const form = new FormData()
      form.append('profiles', 'thumbnail')
      form.append('file', new Blob([bytes]), 'tiny.mp4')
      const res = await fetch(`${pipeline.ingest}/upload`, { method: 'POST', body: form })
      const body = (await res.json()) as { job_id?: string; error?: string }
      console.log(Date.now(), res.status, JSON.stringify(body))
      return { status: res.status, at: Date.now(), jobId: body.job_id }
    }
    const uploader = async () => {
      while (next < UPLOADS) {
        next++
        const answer = await uploadOne()
        answers.push(answer)
        if (answers.length === 40 && !killedAt) {
          killedAt = Date.now()
          primary.kill('SIGKILL')
        }
      }
    }
    // The failover, then the old primary back as a supervisor would bring it (a replica now).
    const failover = (async () => {
      await until('the primary to be killed', async () => killedAt > 0, 60_000)
      await until('the sentinels to promote the replica', async () => {
        const [, port] = await askSentinel<string[]>(ports.sentinels[0] ?? 0, [
          'SENTINEL',
          'GET-MASTER-ADDR-BY-NAME',
          MASTER,
        ])
        return Number(port) === ports.replica
      })
      const promotedAt = Date.now()
      // Its configuration rewritten by the sentinels, it comes back as the new primary's replica.
      primary = await server(ports.primary, ['--replicaof', '127.0.0.1', String(ports.replica)])
      return promotedAt
    })()
    await Promise.all(Array.from({ length: 8 }, uploader))
    const promotedAt = await failover

    const accepted = answers.filter((a) => a.status === 202)
    const refused = answers.filter((a) => a.status === 503)
    expect(answers.filter((a) => a.status !== 202 && a.status !== 503)).toEqual([])
    expect(accepted.length).toBeGreaterThan(100)
    const refusedFor = refused.length ? Math.max(...refused.map((a) => a.at)) - killedAt : 0
    console.log(
      `sentinel failover: ${accepted.length} accepted, ${refused.length} refused with 503 for ${refusedFor} ms after the kill; replica promoted ${promotedAt - killedAt} ms after it`,
    )
    expect(answers.filter((a) => a.at > killedAt).length).toBeGreaterThan(100) // the kill landed mid-burst
    expect(refusedFor).toBeLessThan(DOWN_AFTER_MS + FAILOVER_TIMEOUT_MS + 2000)

    // Every accepted job completes, and each completes once.
    for (const answer of accepted) await pipeline.waitFor(answer.jobId ?? '', ['completed'], 120_000)
    const counts = await completions()
    expect(accepted.filter((a) => counts.get(a.jobId ?? '') !== 1)).toEqual([])

    // The same processes go on: one more upload, accepted and completed.
    const after = await uploadOne()
    expect(after.status).toBe(202)
    await pipeline.waitFor(after.jobId ?? '', ['completed'], 60_000)
    await until('the feed to carry the last job’s completion', async () =>
      feed.events.some((e) => e.data.job_id === after.jobId && e.data.type === 'job.completed'),
    )
    feed.close()
  }, 240_000)
})
