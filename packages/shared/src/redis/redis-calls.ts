import { Deadlines } from '../deadlines.ts'
import { type RedisClient, RedisTimeoutError } from './redis.ts'
import { type LuaScript, loadScripts, type ScriptTable } from './scripts.ts'

/** The scripts of redis/ itself (LeaseLock's, ConsumerGroup's), from `lua/`. */
export const REDIS_SCRIPTS = loadScripts(new URL('./lua/', import.meta.url), [
  'extendLock',
  'releaseLock',
  'removeIdleConsumers',
])

/**
 * How the job store talks to Redis: every command under one deadline (REDIS_COMMAND_TIMEOUT_MS),
 * and the Lua scripts by SHA, loaded once: REDIS_SCRIPTS and the table its owner hands it (the
 * store's, see store/lua/).
 *
 * The deadline is kept by one sweep over the commands in flight (Deadlines: a linked list, swept
 * every twentieth of it while there are any), not a timer per command. A command past its
 * deadline fails with RedisTimeoutError; it still completes or fails on its connection (replies
 * stay in order), so a write that timed out may have happened: the writes retried after one are
 * idempotent.
 */
export type RedisScript = keyof typeof REDIS_SCRIPTS

export class RedisCalls<Name extends string = string> {
  readonly #shas = new Map<string, string>()
  readonly #scripts: ScriptTable<Name | RedisScript>
  readonly #deadlines: Deadlines
  readonly #timedOut: () => RedisTimeoutError

  constructor(
    readonly client: RedisClient,
    /** Deadline of one command; 0: none. */
    readonly timeoutMs: number,
    /** Scripts beside REDIS_SCRIPTS, by name. */
    scripts: ScriptTable<Name> = {} as ScriptTable<Name>,
  ) {
    for (const name of Object.keys(scripts)) {
      if (name in REDIS_SCRIPTS) throw new Error(`Lua script ${name} is one of REDIS_SCRIPTS already`)
    }
    this.#scripts = { ...REDIS_SCRIPTS, ...scripts }
    this.#deadlines = new Deadlines(timeoutMs)
    this.#timedOut = () => new RedisTimeoutError(timeoutMs)
  }

  /** A command's answer, or RedisTimeoutError past the deadline. */
  call<T>(command: Promise<T>): Promise<T> {
    if (this.timeoutMs <= 0) return command
    return this.#deadlines.within(command, this.#timedOut)
  }

  /**
   * Run script `name` with `keys` (exactly as many as its N) and `args`. Throws, before sending
   * anything, on an unknown name or another number of keys.
   */
  async script(name: Name | RedisScript, keys: string[], args: string[]): Promise<unknown> {
    const script = this.#scripts[name] as LuaScript | undefined
    if (!script) throw new Error(`unknown Lua script ${name}`)
    if (keys.length !== script.keys) {
      throw new Error(`Lua script ${name} takes ${script.keys} KEYS, called with ${keys.length}`)
    }
    let sha = this.#shas.get(name)
    if (!sha) {
      sha = await this.call(this.client.scriptLoad(script.source))
      this.#shas.set(name, sha)
    }
    try {
      return await this.call(this.client.evalSha(sha, { keys, arguments: args }))
    } catch (error) {
      // Redis restarted or SCRIPT FLUSH: the script cache is gone, send the source once.
      if (!String(error).includes('NOSCRIPT')) throw error
      return this.call(this.client.eval(script.source, { keys, arguments: args }))
    }
  }
}
