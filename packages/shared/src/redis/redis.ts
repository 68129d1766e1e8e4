import {
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  createClient,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
  TimeoutError,
} from 'redis'
import type { Logger } from '../logger.ts'

export type RedisClient = ReturnType<typeof createClient>

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
 */
export async function connectRedis(
  url: string,
  logger: Logger,
  options: { commandTimeoutMs?: number } = {},
): Promise<RedisClient> {
  const timeout = options.commandTimeoutMs ?? COMMAND_TIMEOUT_MS
  const client = createClient({
    url,
    socket: {
      reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 3000),
      // Twice the command deadline: a command that gets no answer fails on its deadline first.
      ...(timeout > 0 ? { socketTimeout: 2 * timeout } : {}),
    },
    ...(timeout > 0 ? { pingInterval: Math.max(100, Math.floor(timeout / 3)) } : {}),
    // While Redis is away, fail commands at once (a 503, a retry) instead of queueing them.
    disableOfflineQueue: true,
  })
  let warned = false
  client.on('error', (error: Error) => {
    if (warned) return
    warned = true
    logger.warn('redis connection error', { error: error.message })
  })
  client.on('ready', () => {
    warned = false
  })
  await client.connect()
  return client
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
