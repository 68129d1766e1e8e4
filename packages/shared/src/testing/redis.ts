import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startRedisServer } from '../node/redis-server.ts'

export interface TestRedis {
  url: string
  port: number
  /** The server's directory (its append-only file, when persistent). */
  dir: string
  /** A key prefix no other test uses. */
  prefix(): string
  /** SIGKILL the server (a crash); `restart()` brings it back on the same port from its files. */
  crash(): Promise<void>
  restart(): Promise<void>
  /** SIGSTOP the server: connections stay open and nothing answers (a silent partition). */
  freeze(): void
  /** SIGCONT: it answers again, in order, everything sent meanwhile. */
  thaw(): void
  stop(): Promise<void>
}

/**
 * A real redis-server on a free loopback port, in a temporary directory removed on stop. With
 * `persistent`, it keeps an append-only file fsynced on every write (crash tests).
 */
export async function startTestRedis(options: { persistent?: boolean } = {}): Promise<TestRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'vpp-redis-'))
  const persistent = options.persistent ?? false
  let server = await startRedisServer({ dir, persistent, appendfsync: 'always' })
  return {
    url: server.url,
    port: server.port,
    dir,
    prefix: () => `test-${randomUUID().slice(0, 8)}`,
    crash: () => server.crash(),
    freeze: () => server.signal('SIGSTOP'),
    thaw: () => server.signal('SIGCONT'),
    async restart() {
      server = await startRedisServer({ dir, persistent, appendfsync: 'always', port: server.port })
    },
    async stop() {
      server.signal('SIGCONT') // a frozen server would not stop
      await server.stop()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** A temporary directory, removed by the returned cleanup. */
export async function tempDir(label = 'vpp-test-'): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), label))
  return { path, remove: () => rm(path, { recursive: true, force: true }) }
}
