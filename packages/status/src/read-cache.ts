import { closeRedis, connectRedis, type Logger, type PlainRedisClient } from '@vpp/shared'

/** Most job records the read cache holds (least recently read go first). */
export const READ_CACHE_ENTRIES = 10_000

/** How `JobStore.get` reads a job's hash through the cache, and how the cache is closed. */
export interface ReadCache {
  readHash(key: string): Promise<Record<string, string>>
  /** Drop what is held of `key` (a write of this service's own: its next read sees it at once). */
  forget(key: string): void
  close(): Promise<void>
}

/**
 * Status's read cache of job records (STATUS_READ_CACHE_MS > 0): `GET /jobs/{id}` and the
 * records of `GET /jobs` read through a connection of their own with node-redis's
 * server-assisted client-side cache (RESP3, CLIENT TRACKING: Redis tells this connection when a
 * key it read changes, and the entry is dropped); every other command keeps the store's RESP2
 * connection. Not read-after-write consistent for other connections' writes: a read right after
 * one may still answer the old record until its invalidation arrives (seen: 4 reads in 300 right
 * after a Lua-script write, each for 3-5 ms; none after a plain HSET); this service's own writes
 * (delete, cancel, dead-letter retry) drop their job at once (`forget`). An entry is kept
 * `STATUS_READ_CACHE_MS` at most, whatever happens: the bound on a
 * stale answer when invalidations are lost without the connection being seen to fail (a silent
 * partition). Whenever the connection fails, closes or comes back, the whole cache is dropped
 * (invalidations sent meanwhile are lost). Off with REDIS_SENTINELS (not verified across a
 * failover: the new primary knows nothing of what this connection read).
 */
export async function openReadCache(
  config: {
    REDIS_URL: string
    REDIS_SENTINELS?: Array<{ host: string; port: number }>
    REDIS_COMMAND_TIMEOUT_MS?: number
    STATUS_READ_CACHE_MS: number
  },
  logger: Logger,
): Promise<ReadCache | undefined> {
  if (config.STATUS_READ_CACHE_MS <= 0) return undefined
  if (config.REDIS_SENTINELS?.length) {
    logger.warn('read cache off: STATUS_READ_CACHE_MS is not supported with REDIS_SENTINELS')
    return undefined
  }
  const client = (await connectRedis(config.REDIS_URL, logger, {
    commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
    clientSideCache: { ttlMs: config.STATUS_READ_CACHE_MS, maxEntries: READ_CACHE_ENTRIES },
  })) as PlainRedisClient
  const cache = client.clientSideCache
  if (!cache) throw new Error('node-redis made no client-side cache')
  // node-redis drops the cache on a socket error itself; these make sure of it on every way the
  // connection can end or start again.
  const drop = () => cache.clear()
  for (const event of ['error', 'end', 'reconnecting', 'ready']) client.on(event, drop)
  logger.info('read cache on', { max_age_ms: config.STATUS_READ_CACHE_MS, entries: READ_CACHE_ENTRIES })
  return {
    readHash: (key) => client.hGetAll(key),
    forget: (key) => cache.invalidate(key),
    close: () => closeRedis(client),
  }
}
