import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startRedisServer } from '../node/redis-server.ts'

export interface TestRedis {
  url: string
  /** A key prefix no other test uses. */
  prefix(): string
  stop(): Promise<void>
}

/** A real redis-server on a free loopback port, in a temporary directory removed on stop. */
export async function startTestRedis(): Promise<TestRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'vpp-redis-'))
  const server = await startRedisServer({ dir, persistent: false })
  return {
    url: server.url,
    prefix: () => `test-${randomUUID().slice(0, 8)}`,
    async stop() {
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
