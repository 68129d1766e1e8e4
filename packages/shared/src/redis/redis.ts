import {
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  createClient,
  SocketClosedUnexpectedlyError,
  TimeoutError,
} from 'redis'
import type { Logger } from '../logger.ts'

export type RedisClient = ReturnType<typeof createClient>

/**
 * Connect to Redis. Errors after the first connection are logged (node-redis reconnects by
 * itself); a failure to connect at all rejects.
 */
export async function connectRedis(
  url: string,
  logger: Logger,
  options: { commandTimeoutMs?: number } = {},
): Promise<RedisClient> {
  const client = createClient({
    url,
    socket: { reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 3000) },
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
  // Fail a command that gets no answer (a partitioned or frozen Redis) instead of waiting on TCP.
  // (node-redis arms an AbortSignal.timeout per command: a cost only request handlers need.)
  const timeout = options.commandTimeoutMs ?? COMMAND_TIMEOUT_MS
  if (timeout <= 0) return client
  return client.withCommandOptions({ timeout }) as unknown as RedisClient
}

/** How long one command may wait for Redis's answer. */
export const COMMAND_TIMEOUT_MS = 5000

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
    (error instanceof Error && /ECONNREFUSED|ECONNRESET|LOADING/.test(error.message))
  )
}
