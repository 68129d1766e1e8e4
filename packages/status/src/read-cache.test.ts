import { connect, createServer, type Server, type Socket } from 'node:net'
import {
  closeRedis,
  connectRedis,
  createLogger,
  JobStore,
  type PlainRedisClient,
  type RedisClient,
  redisKeys,
} from '@vpp/shared'
import type { RunningService } from '@vpp/shared/node'
import { queuedJob, startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from './config.ts'
import { startStatus } from './main.ts'
import { openReadCache } from './read-cache.ts'

const silent = createLogger({ service: 'status', level: 'silent' })
let redis: TestRedis
let writer: RedisClient
let dir: { path: string; remove(): Promise<void> }

beforeAll(async () => {
  redis = await startTestRedis()
  writer = await connectRedis(redis.url, silent)
  dir = await tempDir()
})
afterAll(async () => {
  await closeRedis(writer)
  await redis.stop()
  await dir.remove()
})

/** A status service on a free port with the read cache on, over `url` (default the test Redis). */
async function status(prefix: string, env: Record<string, string> = {}) {
  return startStatus(
    loadConfig({
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: prefix,
      STATUS_PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dir.path,
      CONSOLE_ENABLED: 'false',
      STATUS_READ_CACHE_MS: '5000',
      ...env,
    }),
    silent,
  )
}

/** A job, and how to GET it and the first page of the listing from `service`. */
async function aJob(service: RunningService, prefix: string) {
  const store = new JobStore(writer, redisKeys(prefix))
  await store.group.ensure()
  const id = crypto.randomUUID()
  await store.create(queuedJob(id, { filename: 'v0.mp4' }))
  const base = `http://127.0.0.1:${service.port}`
  return {
    id,
    key: store.keys.job(id),
    get: () => fetch(`${base}/jobs/${id}`),
    filename: async () =>
      ((await (await fetch(`${base}/jobs/${id}`)).json()) as { filename: string }).filename,
    listed: async () =>
      ((await (await fetch(`${base}/jobs`)).json()) as { jobs: Array<{ filename: string }> }).jobs[0]
        ?.filename,
    delete: () => fetch(`${base}/jobs/${id}`, { method: 'DELETE' }),
  }
}

/** HGETALLs Redis has run so far (INFO commandstats). */
async function hgetalls(): Promise<number> {
  const info = await (writer as PlainRedisClient).info('commandstats')
  return Number(/cmdstat_hgetall:calls=(\d+)/.exec(info)?.[1] ?? 0)
}

/** Ids of the connections with CLIENT TRACKING on (the read cache's). */
async function trackingClients(): Promise<string[]> {
  const list = await (writer as PlainRedisClient).clientList()
  return list.filter((c) => c.flags.includes('t')).map((c) => String(c.id))
}

const until = async (check: () => Promise<boolean>, ms = 5000) => {
  for (const deadline = Date.now() + ms; !(await check()); ) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('the read cache (STATUS_READ_CACHE_MS)', () => {
  it("answers a job again from memory; its own writes are seen at once, another connection's once their invalidation arrives", async () => {
    const prefix = redis.prefix()
    const service = await status(prefix)
    try {
      const job = await aJob(service, prefix)
      expect(await job.filename()).toBe('v0.mp4')
      const before = await hgetalls()
      expect(await job.filename()).toBe('v0.mp4')
      expect(await job.listed()).toBe('v0.mp4') // the listing's records come from the same cache
      expect(await hgetalls()).toBe(before)
      // Another connection's writes, a plain command and the store's scripts (as a transcoder's):
      // each seen within a few ms (the invalidation may come after the writer's own answer).
      const store = new JobStore(writer, redisKeys(prefix))
      for (let i = 1; i <= 30; i++) {
        await (writer as PlainRedisClient).hSet(job.key, 'filename', `v${i}.mp4`)
        await until(async () => (await job.filename()) === `v${i}.mp4`, 200)
        expect(await job.listed()).toBe(`v${i}.mp4`)
        await store.delete(job.id)
        await until(async () => (await job.get()).status === 404, 200)
        await store.create(queuedJob(job.id, { filename: `again${i}.mp4` }))
        await until(async () => (await job.filename()) === `again${i}.mp4`, 200)
      }
      // This service's own writes: seen by the very next read.
      for (let i = 0; i < 20; i++) {
        expect(await job.filename()).toMatch(/^again/)
        const res = await fetch(`http://127.0.0.1:${service.port}/jobs/${job.id}/cancel`, { method: 'POST' })
        expect(res.status).toBe(202)
        expect(await (await job.get()).json()).toMatchObject({ status: 'canceled' })
        expect((await job.delete()).status).toBe(204)
        expect((await job.get()).status).toBe(404)
        await store.create(queuedJob(job.id, { filename: `again${i}.mp4` }))
        await until(async () => (await job.get()).status === 200, 200)
      }
    } finally {
      await service.close()
    }
  })

  it('drops everything it holds when its connection drops: a change made meanwhile is seen', async () => {
    const prefix = redis.prefix()
    const service = await status(prefix)
    try {
      const job = await aJob(service, prefix)
      expect(await job.filename()).toBe('v0.mp4')
      const [tracking] = await trackingClients()
      expect(tracking).toBeDefined()
      // Killed, then changed: Redis sends this connection no invalidation for it any more.
      await (writer as PlainRedisClient).sendCommand(['CLIENT', 'KILL', 'ID', tracking ?? ''])
      await (writer as PlainRedisClient).hSet(job.key, 'filename', 'changed.mp4')
      await until(async () => (await trackingClients()).some((id) => id !== tracking))
      expect(await job.filename()).toBe('changed.mp4')
      expect(await job.listed()).toBe('changed.mp4')
    } finally {
      await service.close()
    }
  })

  it('never answers from memory past STATUS_READ_CACHE_MS when invalidations stop coming (a silent partition)', async () => {
    const proxy = await blackholeProxy(redis.port)
    const prefix = redis.prefix()
    const service = await status(prefix, {
      REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
      STATUS_READ_CACHE_MS: '500',
      REDIS_COMMAND_TIMEOUT_MS: '300',
    })
    try {
      const job = await aJob(service, prefix)
      expect(await job.filename()).toBe('v0.mp4')
      proxy.silence() // nothing goes through any more, and no connection is seen to fail at once
      await (writer as PlainRedisClient).hSet(job.key, 'filename', 'changed.mp4')
      await new Promise((resolve) => setTimeout(resolve, 600))
      for (let i = 0; i < 5; i++) {
        const res = await job.get()
        expect(res.status).toBe(503)
      }
      proxy.heal()
      await until(async () => (await job.get()).status === 200)
      expect(await job.filename()).toBe('changed.mp4')
    } finally {
      proxy.heal()
      await service.close()
      await proxy.close()
    }
  })

  it('is off with REDIS_SENTINELS, and says so', async () => {
    const lines: string[] = []
    const logger = createLogger({ service: 'status', format: 'json', write: (line) => lines.push(line) })
    const cache = await openReadCache(
      {
        REDIS_URL: redis.url,
        REDIS_SENTINELS: [{ host: '127.0.0.1', port: 1 }],
        STATUS_READ_CACHE_MS: 1000,
      },
      logger,
    )
    expect(cache).toBeUndefined()
    expect(lines.join('')).toContain('read cache off')
    expect(await openReadCache({ REDIS_URL: redis.url, STATUS_READ_CACHE_MS: 0 }, logger)).toBeUndefined()
    expect(loadConfig({}).STATUS_READ_CACHE_MS).toBe(0)
  })
})

/**
 * A TCP proxy to a port that can go silent: `silence()` and every byte either way is dropped
 * (connections stay open, new ones are accepted and get nothing), as in a network partition.
 */
async function blackholeProxy(port: number) {
  let silent = false
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1')
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('error', () => {})
      socket.on('close', () => {
        sockets.delete(socket)
        client.destroy()
        upstream.destroy()
      })
    }
    client.on('data', (chunk) => silent || upstream.write(chunk))
    upstream.on('data', (chunk) => silent || client.write(chunk))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as { port: number }).port,
    silence: () => {
      silent = true
    },
    heal: () => {
      silent = false
    },
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}
