import { RenderGate } from './gate.ts'
import type { Render } from './params.ts'

/**
 * Makes render `render` of job `jobId` from its rendition `source` (`720p.mp4`) and publishes it
 * as `name` (`renders/thumb-t12500-w640.jpg`). The runtime's part: ffmpeg, scratch files.
 */
export type RenderRun = (jobId: string, source: string, render: Render, name: string) => Promise<void>

export interface RenderLimits {
  /** Renders at once in this process (RENDER_CONCURRENCY). */
  concurrency: number
  /** Renders waiting for a slot (RENDER_QUEUE), each at most `waitMs`. */
  queue: number
  waitMs: number
  /** Renders a minute per API key, or per job owner for signed URLs (RENDER_RATE_PER_MINUTE; 0: no limit). */
  ratePerMinute: number
  /** Distinct renders of one job (RENDER_MAX_PER_JOB). */
  maxPerJob: number
}

/** How long a render waits for a slot before it is refused. */
export const RENDER_WAIT_MS = 5000
/** How long one render may run. */
export const RENDER_TIMEOUT_MS = 20_000

/**
 * The on-demand renders of this process: each distinct one made once (requests for a render
 * already under way wait for it), under the gate's limits.
 */
export class RenderService {
  readonly gate: RenderGate
  readonly #inFlight = new Map<string, Promise<void>>()
  /** Renders this process has run (each a real ffmpeg run), for tests and logs. */
  runs = 0

  constructor(
    readonly run: RenderRun,
    readonly limits: RenderLimits,
  ) {
    this.gate = new RenderGate(limits.concurrency, limits.queue, limits.waitMs)
  }

  /** Make `name` of job `jobId` unless this process is making it already; resolves once published. */
  make(jobId: string, source: string, render: Render, name: string): Promise<void> {
    const key = `${jobId}/${name}`
    const running = this.#inFlight.get(key)
    if (running) return running
    const made = this.gate
      .run(() => {
        this.runs++
        return this.run(jobId, source, render, name)
      })
      .finally(() => this.#inFlight.delete(key))
    this.#inFlight.set(key, made)
    return made
  }
}
