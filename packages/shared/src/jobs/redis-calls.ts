import { type RedisClient, RedisTimeoutError } from '../redis/redis.ts'
import { SCRIPTS, type ScriptName } from './scripts/index.ts'

/** A command waiting for its answer: when it was sent, and how to fail it. */
interface InFlight {
  sentAt: number
  reject: (error: Error) => void
}

/**
 * How the job store talks to Redis: every command under one deadline (REDIS_COMMAND_TIMEOUT_MS),
 * and the Lua scripts by SHA, loaded once.
 *
 * The deadline is kept by one sweep over the commands in flight (every tenth of it, while there
 * are any), not a timer per command: on the hot path a command costs a Set entry. A command past
 * its deadline fails with RedisTimeoutError; it still completes or fails on its connection
 * (replies stay in order), so a write that timed out may have happened: the writes retried after
 * one are idempotent.
 */
export class RedisCalls {
  readonly #shas = new Map<ScriptName, string>()
  /** In the order sent, so the sweep stops at the first that is not due. */
  readonly #inFlight = new Set<InFlight>()
  #sweep: ReturnType<typeof setInterval> | undefined

  constructor(
    readonly client: RedisClient,
    /** Deadline of one command; 0: none. */
    readonly timeoutMs: number,
  ) {}

  /** A command's answer, or RedisTimeoutError past the deadline. */
  call<T>(command: Promise<T>): Promise<T> {
    if (this.timeoutMs <= 0) return command
    this.#sweep ??= this.#startSweep()
    return new Promise<T>((resolve, reject) => {
      const entry: InFlight = { sentAt: performance.now(), reject }
      this.#inFlight.add(entry)
      command.then(
        (value) => {
          this.#inFlight.delete(entry)
          resolve(value)
        },
        (error: unknown) => {
          this.#inFlight.delete(entry)
          reject(error)
        },
      )
    })
  }

  #startSweep(): ReturnType<typeof setInterval> {
    const sweep = setInterval(
      () => {
        if (this.#inFlight.size === 0) {
          clearInterval(sweep)
          this.#sweep = undefined
          return
        }
        const due = performance.now() - this.timeoutMs
        for (const entry of this.#inFlight) {
          if (entry.sentAt > due) break
          this.#inFlight.delete(entry)
          entry.reject(new RedisTimeoutError(this.timeoutMs))
        }
      },
      Math.max(10, Math.floor(this.timeoutMs / 10)),
    )
    sweep.unref()
    return sweep
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
