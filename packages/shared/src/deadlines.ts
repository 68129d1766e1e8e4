/** A promise waiting for its deadline: when it is due, how to fail it; a link of Deadlines' list. */
interface Pending {
  due: number
  /** Undefined once settled or failed (off the list). */
  reject: ((error: unknown) => void) | undefined
  expired: () => unknown
  prev: Pending | undefined
  next: Pending | undefined
}

/**
 * One time limit over many promises, kept by one sweep while any are pending (every twentieth of
 * the limit, 5-250 ms: a failure past it comes that much late at most), not a timer and a
 * `Promise.race` each. The pending ones are a linked list of their own entries, in the order they
 * fall due (all share the one limit), so the sweep stops at the first that is not. Not a Set: a
 * long-lived Set taking a young entry a request cost `GET /jobs/{id}` a third more CPU, in GC.
 */
export class Deadlines {
  #head: Pending | undefined
  #tail: Pending | undefined
  #size = 0
  #sweep: ReturnType<typeof setInterval> | undefined

  constructor(
    readonly ms: number,
    readonly now: () => number = () => performance.now(),
  ) {}

  /** `work`'s outcome, or `expired()` thrown once `ms` have passed (`work` is not stopped). */
  within<T>(work: Promise<T>, expired: () => unknown): Promise<T> {
    this.#sweep ??= this.#startSweep()
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = { due: this.now() + this.ms, reject, expired, prev: this.#tail, next: undefined }
      if (this.#tail) this.#tail.next = entry
      else this.#head = entry
      this.#tail = entry
      this.#size++
      work.then(
        (value) => {
          if (this.#remove(entry)) resolve(value)
        },
        (error: unknown) => {
          if (this.#remove(entry)) reject(error)
        },
      )
    })
  }

  /** Promises not yet settled nor past their deadline. */
  get size(): number {
    return this.#size
  }

  /** Take `entry` off the list; false when it was off already. */
  #remove(entry: Pending): boolean {
    if (!entry.reject) return false
    entry.reject = undefined
    if (entry.prev) entry.prev.next = entry.next
    else this.#head = entry.next
    if (entry.next) entry.next.prev = entry.prev
    else this.#tail = entry.prev
    entry.prev = undefined
    entry.next = undefined
    this.#size--
    return true
  }

  #startSweep(): ReturnType<typeof setInterval> {
    const sweep = setInterval(
      () => {
        if (this.#size === 0) {
          clearInterval(sweep)
          this.#sweep = undefined
          return
        }
        const now = this.now()
        for (let entry = this.#head; entry && entry.due <= now; entry = this.#head) {
          const reject = entry.reject
          this.#remove(entry)
          try {
            reject?.(entry.expired())
          } catch (error) {
            reject?.(error)
          }
        }
      },
      Math.min(250, Math.max(5, Math.floor(this.ms / 20))),
    )
    sweep.unref?.()
    return sweep
  }
}
