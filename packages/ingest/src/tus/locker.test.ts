import { once } from 'node:events'
import { readFile, stat } from 'node:fs/promises'
import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { FileStore } from '@tus/file-store'
import { ERRORS, type Lock, Server } from '@tus/server'
import {
  closeRedis,
  connectRedis,
  createLogger,
  JobStore,
  type Logger,
  type RedisClient,
  redisKeys,
} from '@vpp/shared'
import { startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { RedisLocker, type RedisLockerOptions } from './locker.ts'

const silent = createLogger({ service: 'test', level: 'silent' })
let redis: TestRedis
/** The test's own connection, to look at the keys. */
let admin: RedisClient
let cleanups: Array<() => Promise<void>> = []

beforeAll(async () => {
  redis = await startTestRedis()
  admin = await connectRedis(redis.url, silent)
})
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
  cleanups = []
})
afterAll(async () => {
  await closeRedis(admin)
  await redis.stop()
})

/** One ingest replica's locker: connections of its own (commands, and a subscriber). */
async function replica(
  prefix: string,
  options: Partial<RedisLockerOptions> & { commandTimeoutMs?: number } = {},
) {
  const { commandTimeoutMs, ...lockerOptions } = options
  const client = await connectRedis(redis.url, silent, { commandTimeoutMs })
  const store = new JobStore(client, redisKeys(prefix), { commandTimeoutMs })
  const subscribers: RedisClient[] = []
  const locker = new RedisLocker({
    store,
    subscriber: async () => {
      const subscriber = await connectRedis(redis.url, silent)
      subscribers.push(subscriber)
      return subscriber
    },
    ...lockerOptions,
  })
  const close = async () => {
    await locker.close()
    await closeRedis(client)
  }
  cleanups.push(close)
  return {
    locker,
    /** The process dies: its connections drop, nothing is refreshed or released. */
    crash() {
      client.destroy()
      for (const subscriber of subscribers) subscriber.destroy()
    },
  }
}

/** A holder that counts the release requests it gets and otherwise ignores them. */
function stubborn() {
  const asked = { count: 0 }
  return { asked, requestRelease: () => void asked.count++ }
}

const never = () => new AbortController().signal
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function until(condition: () => boolean | Promise<boolean>, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await sleep(10)
  }
}

/** A logger that keeps the messages of its warnings. */
function warnings(): { logger: Logger; lines: string[] } {
  const lines: string[] = []
  const logger = createLogger({
    service: 'test',
    format: 'json',
    level: 'warn',
    write: (line) => void lines.push(JSON.parse(line).msg),
  })
  return { logger, lines }
}

describe('RedisLocker', () => {
  it('asks the holder on another replica to release, and takes the lock once it is unlocked', async () => {
    const prefix = redis.prefix()
    const [a, b] = [await replica(prefix), await replica(prefix)]
    const key = redisKeys(prefix).tusLock('upload-1')
    const events: string[] = []
    const lockA = a.locker.newLock('upload-1')
    await lockA.lock(never(), () => {
      events.push('A asked to release')
      // As @tus/server does: the request ends a little later, then unlocks.
      setTimeout(() => {
        events.push('A unlocks')
        void lockA.unlock()
      }, 50)
    })
    events.push('A holds')
    const tokenA = await admin.get(key)
    expect(tokenA).not.toBeNull()

    const lockB = b.locker.newLock('upload-1')
    await lockB.lock(never(), () => {})
    events.push('B holds')
    expect(events).toEqual(['A holds', 'A asked to release', 'A unlocks', 'B holds'])
    const tokenB = await admin.get(key)
    expect(tokenB).not.toBeNull()
    expect(tokenB).not.toBe(tokenA)

    await lockB.unlock()
    expect(await admin.exists(key)).toBe(0)
  })

  it('never lets two requests hold an upload at once, across replicas', async () => {
    const prefix = redis.prefix()
    const replicas = [await replica(prefix), await replica(prefix), await replica(prefix)]
    let holders = 0
    let most = 0
    let taken = 0
    const rounds = async (locker: RedisLocker) => {
      for (let round = 0; round < 4; round++) {
        const lock = locker.newLock('upload-1')
        let asked: () => void = () => {}
        const released = new Promise<void>((resolve) => {
          asked = resolve
        })
        await lock.lock(never(), () => asked())
        holders++
        taken++
        most = Math.max(most, holders)
        // Hold until asked to let go, or 30 ms of "work".
        await Promise.race([released, sleep(30)])
        holders--
        await lock.unlock()
      }
    }
    await Promise.all(replicas.map((r) => rounds(r.locker)))
    expect(taken).toBe(12)
    expect(most).toBe(1)
  })

  it('refreshes the lease while the lock is held: nobody else gets it meanwhile', async () => {
    const prefix = redis.prefix()
    const key = redisKeys(prefix).tusLock('upload-1')
    const a = await replica(prefix, { leaseMs: 150 })
    const b = await replica(prefix, { leaseMs: 150, acquireTimeoutMs: 500 })
    const holder = stubborn()
    const lockA = a.locker.newLock('upload-1')
    await lockA.lock(never(), holder.requestRelease)
    const token = await admin.get(key)

    // B waits more than three leases, asking all along; A ignores it and keeps refreshing.
    await expect(b.locker.newLock('upload-1').lock(never(), () => {})).rejects.toBe(ERRORS.ERR_LOCK_TIMEOUT)
    expect(holder.asked.count).toBeGreaterThan(0)
    expect(await admin.get(key)).toBe(token)
    expect(await admin.pTTL(key)).toBeGreaterThan(0)

    await lockA.unlock()
    expect(await admin.exists(key)).toBe(0)
  })

  it('a holder that dies loses the lock when its lease runs out; another replica takes it', async () => {
    const prefix = redis.prefix()
    const key = redisKeys(prefix).tusLock('upload-1')
    const a = await replica(prefix, { leaseMs: 200 })
    const b = await replica(prefix, { leaseMs: 200, acquireTimeoutMs: 3000 })
    const lockA = a.locker.newLock('upload-1')
    await lockA.lock(never(), () => {})
    const tokenA = await admin.get(key)
    a.crash()

    const lockB = b.locker.newLock('upload-1')
    await lockB.lock(never(), () => {})
    const tokenB = await admin.get(key)
    expect(tokenB).not.toBeNull()
    expect(tokenB).not.toBe(tokenA)
    // The dead replica's unlock fails quietly and leaves the new holder alone.
    await expect(lockA.unlock()).resolves.toBeUndefined()
    expect(await admin.get(key)).toBe(tokenB)
    await lockB.unlock()
  })

  it('a holder whose lease ran out is asked to stop, and its unlock leaves the next holder alone', async () => {
    const prefix = redis.prefix()
    const key = redisKeys(prefix).tusLock('upload-1')
    const log = warnings()
    const a = await replica(prefix, { leaseMs: 300, logger: log.logger })
    const b = await replica(prefix, { leaseMs: 300 })
    const holder = stubborn()
    const lockA = a.locker.newLock('upload-1')
    await lockA.lock(never(), holder.requestRelease)

    // A's lease runs out early (as if Redis had been out of its reach), and B takes the lock.
    await admin.pExpire(key, 1)
    await until(async () => (await admin.exists(key)) === 0)
    const lockB = b.locker.newLock('upload-1')
    await lockB.lock(never(), () => {})
    const tokenB = await admin.get(key)

    // A's next refresh finds the lock taken: its request is asked to stop.
    await until(() => holder.asked.count > 0)
    expect(log.lines).toContain('tus upload lock lost; asking its request to stop')
    await lockA.unlock()
    expect(await admin.get(key)).toBe(tokenB)
    await lockB.unlock()
    expect(await admin.exists(key)).toBe(0)
  })

  it('asks its own request to stop when Redis stops answering, before the lease runs out', async () => {
    const prefix = redis.prefix()
    const key = redisKeys(prefix).tusLock('upload-1')
    const a = await replica(prefix, { leaseMs: 300, commandTimeoutMs: 2000 })
    const holder = stubborn()
    const lockA = a.locker.newLock('upload-1')
    await lockA.lock(never(), holder.requestRelease)
    redis.freeze()
    try {
      await until(() => holder.asked.count > 0, 1000)
    } finally {
      redis.thaw()
    }
    await lockA.unlock()
    expect(await admin.exists(key)).toBe(0)
  })

  it('stops waiting when the request is aborted', async () => {
    const prefix = redis.prefix()
    const key = redisKeys(prefix).tusLock('upload-1')
    const [a, b] = [await replica(prefix), await replica(prefix)]
    const holder = stubborn()
    const lockA = a.locker.newLock('upload-1')
    await lockA.lock(never(), holder.requestRelease)
    const token = await admin.get(key)

    const aborts = new AbortController()
    const waiting = b.locker.newLock('upload-1').lock(aborts.signal, () => {})
    setTimeout(() => aborts.abort(), 100)
    // Well before the 30 s acquire timeout.
    const outcome = await Promise.race([waiting.catch((error: unknown) => error), sleep(2000)])
    expect(outcome).toBe(ERRORS.ERR_LOCK_TIMEOUT)
    // An already aborted request does not even try.
    await expect(b.locker.newLock('upload-1').lock(aborts.signal, () => {})).rejects.toBe(
      ERRORS.ERR_LOCK_TIMEOUT,
    )
    expect(await admin.get(key)).toBe(token)
    await lockA.unlock()
  })

  it('unlocking a lock that is not held does nothing', async () => {
    const prefix = redis.prefix()
    const key = redisKeys(prefix).tusLock('upload-1')
    const a = await replica(prefix)
    const holder = await replica(prefix)
    const held = holder.locker.newLock('upload-1')
    await held.lock(never(), () => {})
    const lock: Lock = a.locker.newLock('upload-1')
    await expect(lock.unlock()).resolves.toBeUndefined()
    expect(await admin.exists(key)).toBe(1)
    await held.unlock()
    await expect(held.unlock()).resolves.toBeUndefined()
  })
})

describe('two @tus/server replicas sharing Redis and a directory', () => {
  /** A tus Server on its own port, with its own RedisLocker. */
  async function tusReplica(prefix: string, directory: string) {
    const { locker } = await replica(prefix, { leaseMs: 1000 })
    const tus = new Server({
      path: '/files',
      datastore: new FileStore({ directory }),
      locker,
      relativeLocation: true,
      // How long a request asked to release its lock keeps writing (keep under leaseMs / 4).
      lockDrainTimeout: 100,
    })
    const server = serve({ fetch: (req) => tus.handleWeb(req), port: 0, hostname: '127.0.0.1' })
    if (!server.listening) await once(server, 'listening')
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve())
          if ('closeAllConnections' in server) server.closeAllConnections()
        }),
    )
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  }

  const TUS = { 'Tus-Resumable': '1.0.0' }
  const patch = (url: string, offset: number, body: Uint8Array<ArrayBuffer>) =>
    fetch(url, {
      method: 'PATCH',
      headers: { ...TUS, 'Upload-Offset': String(offset), 'Content-Type': 'application/offset+octet-stream' },
      body,
    })

  it('resumes on one replica an upload begun on the other; a new request ends the stale one', async () => {
    const prefix = redis.prefix()
    const dir = await tempDir()
    cleanups.push(dir.remove)
    const [one, two] = [await tusReplica(prefix, dir.path), await tusReplica(prefix, dir.path)]
    const bytes = new Uint8Array(96 * 1024).map((_, i) => (i * 31 + 7) % 251)
    const third = bytes.length / 3

    const created = await fetch(`${one}/files`, {
      method: 'POST',
      headers: { ...TUS, 'Upload-Length': String(bytes.length) },
    })
    expect(created.status).toBe(201)
    const location = created.headers.get('location') ?? ''
    const id = location.split('/').pop() ?? ''
    const first = await patch(`${one}${location}`, 0, bytes.subarray(0, third))
    expect(first.status).toBe(204)
    expect(first.headers.get('upload-offset')).toBe(String(third))

    // A PATCH on replica one that sends its second third and then stalls (a half-open client).
    const stale = httpRequest(`${one}${location}`, {
      method: 'PATCH',
      headers: {
        ...TUS,
        'Upload-Offset': String(third),
        'Content-Type': 'application/offset+octet-stream',
        'Content-Length': String(bytes.length - third),
      },
    })
    const staleOutcome = new Promise<string>((resolve) => {
      stale.on('response', (res) => {
        res.resume()
        resolve(`${res.statusCode} ${res.headers['upload-offset']}`)
      })
      stale.on('error', (error) => resolve(`error ${error.message}`))
    })
    let staleClosed = false
    stale.on('close', () => {
      staleClosed = true
    })
    cleanups.push(async () => void stale.destroy())
    stale.write(bytes.subarray(third, 2 * third))
    await until(async () => (await stat(`${dir.path}/${id}`)).size === 2 * third)

    // The client comes back on replica two: its HEAD takes the lock from the stale PATCH.
    const head = await fetch(`${two}${location}`, { method: 'HEAD', headers: TUS })
    expect(head.status).toBe(200)
    expect(head.headers.get('upload-offset')).toBe(String(2 * third))
    // The stale PATCH is answered with what it stored, and its connection closed (it cannot keep writing).
    expect(await staleOutcome).toBe(`204 ${2 * third}`)
    await until(() => staleClosed)

    const rest = await patch(`${two}${location}`, 2 * third, bytes.subarray(2 * third))
    expect(rest.status).toBe(204)
    expect(rest.headers.get('upload-offset')).toBe(String(bytes.length))
    expect(new Uint8Array(await readFile(`${dir.path}/${id}`))).toEqual(bytes)
  })
})
