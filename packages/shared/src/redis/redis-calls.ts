import { Deadlines } from '../deadlines.ts'
import { SCRIPTS, type ScriptName } from '../store/scripts/index.ts'
import { type RedisClient, RedisTimeoutError } from './redis.ts'

/**
 * How the job store talks to Redis: every command under one deadline (REDIS_COMMAND_TIMEOUT_MS),
 * and the Lua scripts by SHA, loaded once.
 *
 * The deadline is kept by one sweep over the commands in flight (Deadlines: a linked list, swept
 * every twentieth of it while there are any), not a timer per command. A command past its
 * deadline fails with RedisTimeoutError; it still completes or fails on its connection (replies
 * stay in order), so a write that timed out may have happened: the writes retried after one are
 * idempotent.
 */
export class RedisCalls {
  readonly #shas = new Map<ScriptName, string>()
  readonly #deadlines: Deadlines
  readonly #timedOut: () => RedisTimeoutError

  constructor(
    readonly client: RedisClient,
    /** Deadline of one command; 0: none. */
    readonly timeoutMs: number,
  ) {
    this.#deadlines = new Deadlines(timeoutMs)
    this.#timedOut = () => new RedisTimeoutError(timeoutMs)
  }

  /** A command's answer, or RedisTimeoutError past the deadline. */
  call<T>(command: Promise<T>): Promise<T> {
    if (this.timeoutMs <= 0) return command
    return this.#deadlines.within(command, this.#timedOut)
  }

  async script(name: ScriptName, keys: string[], args: string[]): Promise<unknown> {
    let sha = this.#shas.get(name)
    if (!sha) {
      sha = await this.call(this.client.scriptLoad(SCRIPTS[name]))
      this.#shas.set(name, sha)
    }
    try {
      return await this.call(this.client.evalSha(sha, { keys, arguments: args }))
    } catch (error) {
      // Redis restarted or SCRIPT FLUSH: the script cache is gone, send the source once.
      if (!String(error).includes('NOSCRIPT')) throw error
      return this.call(this.client.eval(SCRIPTS[name], { keys, arguments: args }))
    }
  }
}
