import { AppError } from '@vpp/shared'

/** 503 `render_busy`: every render slot is taken and the queue is full, or the wait ran out. */
export function renderBusy(why: string): AppError {
  const error = new AppError('render_busy', `Too many renders in progress (${why}); retry in a second`, 503)
  error.headers['Retry-After'] = '1'
  return error
}

/**
 * At most `concurrency` renders at once in this process, and at most `queue` more waiting, each
 * for `waitMs` at most: past either, `render_busy`. A slot a render frees goes to the first waiter.
 */
export class RenderGate {
  #running = 0
  readonly #waiting: Array<() => void> = []

  constructor(
    readonly concurrency: number,
    readonly queue: number,
    readonly waitMs: number,
  ) {}

  /** Renders running now, and waiting. */
  get load(): { running: number; waiting: number } {
    return { running: this.#running, waiting: this.#waiting.length }
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#running < this.concurrency) this.#running++
    else await this.#wait()
    try {
      return await work()
    } finally {
      // The slot passes to the first waiter as it is (still counted as running), or is freed.
      const next = this.#waiting.shift()
      if (next) next()
      else this.#running--
    }
  }

  #wait(): Promise<void> {
    if (this.#waiting.length >= this.queue) {
      return Promise.reject(renderBusy(`${this.#running} running, ${this.#waiting.length} waiting`))
    }
    return new Promise((resolve, reject) => {
      const take = () => {
        clearTimeout(timer)
        resolve()
      }
      const timer = setTimeout(() => {
        const at = this.#waiting.indexOf(take)
        if (at >= 0) this.#waiting.splice(at, 1)
        reject(renderBusy(`waited ${this.waitMs / 1000} s for a slot`))
      }, this.waitMs)
      this.#waiting.push(take)
    })
  }
}
