import type { Logger } from '../logger.ts'
import { COMMAND_TIMEOUT_MS, closeRedis, connectRedis, redisTarget } from '../redis/redis.ts'
import { redisKeys } from '../redis/redis-keys.ts'
import { JobStore, type JobStoreOptions } from './job-store.ts'

/** Connect to Redis (REDIS_URL, or REDIS_SENTINELS) and open the job store under REDIS_KEY_PREFIX (consumer group ensured). */
export async function openJobStore(
  config: Parameters<typeof redisTarget>[0] & {
    REDIS_KEY_PREFIX: string
    REDIS_COMMAND_TIMEOUT_MS?: number
    EVENTS_MAXLEN?: number
  },
  logger: Logger,
  options: Omit<JobStoreOptions, 'commandTimeoutMs'> & {
    /** With sentinels: connections to the primary (one more per blocking reader leased). */
    poolSize?: number
  } = {},
): Promise<JobStore> {
  const commandTimeoutMs = config.REDIS_COMMAND_TIMEOUT_MS ?? COMMAND_TIMEOUT_MS
  const { poolSize, ...storeOptions } = options
  const client = await connectRedis(redisTarget(config), logger, { commandTimeoutMs, poolSize })
  const store = new JobStore(client, redisKeys(config.REDIS_KEY_PREFIX), {
    ...storeOptions,
    commandTimeoutMs,
  })
  try {
    await store.group.ensure()
    // Read by every script that logs an event; the services share one value (the last started wins).
    if (config.EVENTS_MAXLEN !== undefined) {
      await store.redis.call(client.hSet(store.keys.config, 'events_maxlen', String(config.EVENTS_MAXLEN)))
    }
  } catch (error) {
    await closeRedis(client)
    throw error
  }
  return store
}
