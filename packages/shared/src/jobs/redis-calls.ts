import { type RedisClient, withDeadline } from '../redis/redis.ts'
import { SCRIPTS, type ScriptName } from './scripts/index.ts'

/**
 * How the job store talks to Redis: every command under one deadline (REDIS_COMMAND_TIMEOUT_MS),
 * and the Lua scripts by SHA, loaded once.
 */
export class RedisCalls {
  readonly #shas = new Map<ScriptName, string>()

  constructor(
    readonly client: RedisClient,
    /** Deadline of one command; 0: none. */
    readonly timeoutMs: number,
  ) {}

  /** A command's answer, or RedisTimeoutError past the deadline. */
  call<T>(command: Promise<T>): Promise<T> {
    return withDeadline(command, this.timeoutMs)
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
