import type { Logger } from '../logger.ts'
import { LeaseLock } from '../redis/lease-lock.ts'
import {
  type BlockingConnection,
  blockingConnection,
  closeRedis,
  type RedisClient,
  subscribeTo,
} from '../redis/redis.ts'
import { RedisCalls } from '../redis/redis-calls.ts'
import type { RedisKeys } from '../redis/redis-keys.ts'
import { STORE_SCRIPTS, type StoreScript } from './lua/index.ts'

/**
 * The job store's connection, and what the services need of it besides the stores' own
 * operations: health, leases, a blocking connection, the cancel channel, closing. The services
 * never use `client` or `redis` themselves (test/no-raw-redis.test.ts).
 */
export class StoreConnection {
  /** Every command under one deadline, and the store's Lua scripts. */
  readonly redis: RedisCalls<StoreScript>

  constructor(
    readonly client: RedisClient,
    readonly keys: RedisKeys,
    commandTimeoutMs: number,
  ) {
    this.redis = new RedisCalls(client, commandTimeoutMs, STORE_SCRIPTS)
  }

  /** A lock on `key` held for `leaseMs` at a time, on this store's connection. */
  lease(key: string, leaseMs: number): LeaseLock {
    return new LeaseLock(this.redis, key, leaseMs)
  }

  /** Whether Redis answers a PING within `timeoutMs` (for /healthz). */
  async reachable(timeoutMs = 1000): Promise<boolean> {
    if (!this.client.isReady) return false
    let timer: ReturnType<typeof setTimeout> | undefined
    const ok = await Promise.race([
      this.client.ping().then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs)
      }),
    ])
    clearTimeout(timer)
    return ok
  }

  /** A second connection to the same Redis, for blocking reads (which hold their connection). */
  async blockingConnection(blockMs: number, logger: Logger): Promise<BlockingConnection> {
    return blockingConnection(this.client, blockMs, logger)
  }

  /**
   * Call `listener` with the id of every job canceled or deleted from now on (the cancel channel,
   * on a connection of its own). Resolves to the unsubscribe.
   */
  onCancel(listener: (jobId: string) => void, logger: Logger): Promise<() => Promise<void>> {
    return subscribeTo(this.client, this.keys.cancelChannel, listener, logger)
  }

  /** Close the connection (destroy it if closing fails). */
  close(): Promise<void> {
    return closeRedis(this.client)
  }
}
