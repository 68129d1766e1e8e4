import { expandIncludes, includesIn, loadScripts } from '../../redis/scripts.ts'

/**
 * The job store's Lua scripts, one `<name>-<N>.lua` file each in this folder (N: its KEYS
 * count), their shared functions in `includes/`. Read and checked once, at start.
 */
export const STORE_SCRIPTS = loadScripts(new URL('./', import.meta.url), [
  'create',
  'start',
  'finish',
  'retry',
  'returnJob',
  'promote',
  'heartbeat',
  'progress',
  'retryDeadLetter',
  'discardDeadLetter',
  'cancel',
  'delete',
  'enqueueDeliveries',
  'claimDeliveries',
  'settleDelivery',
  'expireOutputs',
  'planChunks',
  'startChunk',
  'chunkHeartbeat',
  'finishChunk',
  'promoteChunks',
  'playable',
  'captions',
  'addWatermark',
])
export type StoreScript = keyof typeof STORE_SCRIPTS

/**
 * The errors the store's scripts raise, by their stable code: the first word of the Redis error
 * (`redis.error_reply('VPP_JOB_EXISTS job ... exists')`). Match a code with `isLuaError`, never
 * the text after it.
 */
export const LUA_ERRORS = {
  /** create: a record with that job_id exists already (a retried create whose reply was lost). */
  jobExists: 'VPP_JOB_EXISTS',
} as const
export type LuaErrorCode = (typeof LUA_ERRORS)[keyof typeof LUA_ERRORS]

/** Whether `error` is the script error `code` (its message starts with the code). */
export function isLuaError(error: unknown, code: LuaErrorCode): boolean {
  return error instanceof Error && (error.message === code || error.message.startsWith(`${code} `))
}

const includes = includesIn(new URL('./includes/', import.meta.url))

/**
 * A Lua source with the store's includes put in (`--- @include "name"`, each once), for a script
 * run outside the table (test helpers). Throws on an unknown include.
 */
export function withIncludes(source: string): string {
  return expandIncludes(source, includes)
}
