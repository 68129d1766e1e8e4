import {
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  createClient,
  createSentinel,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
  TimeoutError,
} from 'redis'
import type { Logger } from '../logger.ts'

/** One connection to a Redis. */
export type PlainRedisClient = ReturnType<typeof createClient>
/** Connections to whichever Redis the sentinels say is the primary, following failovers. */
export type SentinelRedisClient = ReturnType<typeof createSentinel>
/** What the services talk to: one Redis (REDIS_URL), or the primary behind Sentinel. */
export type RedisClient = PlainRedisClient | SentinelRedisClient

/** Where Redis is: REDIS_URL, or the sentinels and the name of the primary they watch. */
export type RedisTarget = string | { sentinels: Array<{ host: string; port: number }>; master: string }

/** The target of a service's config: the sentinels when REDIS_SENTINELS is set, else REDIS_URL. */
export function redisTarget(config: {
  REDIS_URL: string
  REDIS_SENTINELS?: Array<{ host: string; port: number }>
  REDIS_SENTINEL_MASTER?: string
}): RedisTarget {
  return config.REDIS_SENTINELS?.length
    ? { sentinels: config.REDIS_SENTINELS, master: config.REDIS_SENTINEL_MASTER ?? 'mymaster' }
    : config.REDIS_URL
}

export const isSentinel = (client: RedisClient): client is SentinelRedisClient => !('duplicate' in client)

/** How long one command may wait for Redis's answer (REDIS_COMMAND_TIMEOUT_MS). */
export const COMMAND_TIMEOUT_MS = 5000

/**
 * Connect to Redis. Errors after the first connection are logged (node-redis reconnects by
 * itself); a failure to connect at all rejects.
 *
 * A silent Redis (a partition, a frozen server) is noticed in seconds on two levels: a PING goes
 * out every `commandTimeoutMs / 3` on an otherwise quiet connection, and a socket that receives
 * nothing for twice `commandTimeoutMs` is closed and opened again (node-redis `socketTimeout`). Each
 * command's own deadline is the job store's (`RedisCalls`: node-redis's per-command `timeout` only
 * covers the time before a command is written, not the wait for its answer).
 *
 * With sentinels (node-redis `createSentinel`), `poolSize` connections go to the primary (one
 * more for each blocking reader a service leases with `blockingConnection`); after a failover
 * they are opened to the new primary, and commands meanwhile fail at once (503s, retries).
 */
export async function connectRedis(
  target: RedisTarget,
  logger: Logger,
  options: {
    commandTimeoutMs?: number
    poolSize?: number
    /**
     * node-redis's server-assisted client-side cache (RESP3, CLIENT TRACKING) on this connection:
     * entries kept at most `ttlMs`, `maxEntries` of them (least recently used go first). A plain
     * client only (REDIS_URL); its replies are RESP3's (a hash is an object as with RESP2).
     */
    clientSideCache?: { ttlMs: number; maxEntries: number }
  } = {},
): Promise<RedisClient> {
  const timeout = options.commandTimeoutMs ?? COMMAND_TIMEOUT_MS
  const socket = {
    reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 3000),
    // Twice the command deadline: a command that gets no answer fails on its deadline first.
    ...(timeout > 0 ? { socketTimeout: 2 * timeout } : {}),
  }
  const clientOptions = {
    ...(timeout > 0 ? { pingInterval: Math.max(100, Math.floor(timeout / 3)) } : {}),
    // While Redis is away, fail commands at once (a 503, a retry) instead of queueing them.
    disableOfflineQueue: true,
  }
  const cache = options.clientSideCache
  if (cache && typeof target !== 'string')
    throw new Error('the client-side cache needs REDIS_URL, not sentinels')
  const client: RedisClient =
    typeof target === 'string'
      ? cache
        ? (createClient({
            url: target,
            socket,
            ...clientOptions,
            RESP: 3,
            clientSideCache: { ttl: cache.ttlMs, maxEntries: cache.maxEntries, evictPolicy: 'LRU' },
          }) as unknown as PlainRedisClient)
        : createClient({ url: target, socket, ...clientOptions })
      : createSentinel({
          name: target.master,
          sentinelRootNodes: target.sentinels,
          masterPoolSize: options.poolSize ?? 1,
          // A failover is seen through the sentinels' +switch-master; this is the backstop.
          scanInterval: 2000,
          nodeClientOptions: { socket, ...clientOptions },
          sentinelClientOptions: { socket: { reconnectStrategy: socket.reconnectStrategy } },
          passthroughClientErrorEvents: true,
        })
  let warned = false
  client.on('error', (error: Error) => {
    if (warned) return
    warned = true
    logger.warn('redis connection error', { error: error.message })
  })
  client.on(typeof target === 'string' ? 'ready' : 'topology-change', () => {
    warned = false
  })
  await client.connect()
  return client
}

/** A connection for a blocking command (XREADGROUP/XREAD BLOCK), with room for the block in its socket timeout. */
export interface BlockingConnection {
  client: Pick<PlainRedisClient, 'xReadGroup' | 'xRead'>
  close(): Promise<void>
}

/**
 * A connection of its own for blocking reads: a duplicate of a plain client (its socket timeout
 * past `blockMs`), or one of a sentinel client's pool leased for good (it follows failovers).
 */
export async function blockingConnection(
  client: RedisClient,
  blockMs: number,
  logger: Logger,
): Promise<BlockingConnection> {
  if (isSentinel(client)) {
    const lease = await client.acquire()
    return {
      client: lease as unknown as BlockingConnection['client'],
      close: async () => void (await lease.release()),
    }
  }
  const options = client.options
  const timeout = options?.socket?.socketTimeout
  const reader = client.duplicate({
    socket: { ...options?.socket, ...(timeout ? { socketTimeout: blockMs + timeout } : {}) },
  })
  reader.on('error', (error: Error) => logger.debug('redis reader error', { error: error.message }))
  await reader.connect()
  // destroy, not close: a pending BLOCK ends now.
  return { client: reader, close: async () => reader.destroy() }
}

/**
 * Listen to `channel`: on a connection of its own for a plain client, through the sentinel
 * client's own pub/sub connection (which follows failovers) otherwise. Resolves with the stop.
 */
export async function subscribeTo(
  client: RedisClient,
  channel: string,
  listener: (message: string) => void,
  logger: Logger,
): Promise<() => Promise<void>> {
  if (isSentinel(client)) {
    await client.subscribe(channel, listener, false)
    const stop = listener as unknown as Parameters<SentinelRedisClient['unsubscribe']>[1]
    return async () => void (await client.unsubscribe(channel, stop, false).catch(() => {}))
  }
  const subscriber = client.duplicate()
  subscriber.on('error', (error: Error) => logger.debug('redis subscriber error', { error: error.message }))
  await subscriber.connect()
  await subscriber.subscribe(channel, listener)
  return () => closeRedis(subscriber)
}

/** A command that got no answer within its deadline. The connection stays; the answer, if it comes, is dropped. */
export class RedisTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`Redis did not answer within ${timeoutMs} ms`)
    this.name = 'RedisTimeoutError'
  }
}

/** Close a client whatever state it is in; safe to call twice. */
export async function closeRedis(client: RedisClient): Promise<void> {
  if (!client.isOpen) return
  try {
    await client.close()
  } catch {
    client.destroy()
  }
}

/** True for the errors of a Redis that is down or unreachable (as opposed to a bad command). */
export function isRedisUnavailable(error: unknown): boolean {
  return (
    error instanceof ClientOfflineError ||
    error instanceof ClientClosedError ||
    error instanceof SocketClosedUnexpectedlyError ||
    error instanceof ConnectionTimeoutError ||
    error instanceof TimeoutError ||
    error instanceof RedisTimeoutError ||
    error instanceof SocketTimeoutError ||
    (error instanceof Error && /ECONNREFUSED|ECONNRESET|LOADING/.test(error.message))
  )
}
