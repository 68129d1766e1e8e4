import { errorMessage, type Logger, type TranscoderMetrics } from '@vpp/shared'
import type { TranscoderConfig } from './config.ts'
import { Health, type InfraFailure } from './health.ts'

export interface SickStateDeps {
  config: Pick<TranscoderConfig, 'SICK_AFTER_FAILURES' | 'SICK_RETRY_MS'>
  logger: Logger
  metrics: Pick<TranscoderMetrics, 'healthy'>
  /** What a sick transcoder checks before it takes jobs again. */
  probe: () => Promise<InfraFailure | null>
}

/**
 * A transcoder's health as it runs jobs: infrastructure failures counted (Health), sick after
 * SICK_AFTER_FAILURES in a row, then a probe every SICK_RETRY_MS until it passes. The gauge
 * `healthy` and the log say each change.
 */
export class SickState {
  readonly #deps: SickStateDeps
  readonly #health: Health
  #closed = false
  /** The next probe of a sick transcoder. */
  #probeTimer: NodeJS.Timeout | undefined
  /** Resolved when a sick transcoder is well again (one shared promise). */
  #recovering: Promise<void> | undefined
  #recovered: (() => void) | undefined

  constructor(deps: SickStateDeps) {
    this.#deps = deps
    this.#health = new Health(deps.config.SICK_AFTER_FAILURES)
  }

  /** Why this transcoder stands down, and since when; null while it takes jobs. */
  get sick() {
    return this.#health.sick
  }

  /** An attempt succeeded: the failures in a row start again from none. */
  succeeded(): void {
    this.#health.succeeded()
  }

  /** Resolves when a sick transcoder is well again. */
  wellAgain(): Promise<void> {
    this.#recovering ??= new Promise<void>((resolve) => {
      this.#recovered = resolve
    })
    return this.#recovering
  }

  /**
   * An attempt failed on the infrastructure: count it. Returns whether the transcoder is sick
   * (just now, or already), in which case the caller hands the job back.
   */
  failed(failure: InfraFailure): boolean {
    const { config, logger, metrics } = this.#deps
    const now = this.#health.failed(failure)
    if (now === 'healthy') {
      logger.warn('infrastructure failure', {
        reason: failure.reason,
        in_a_row: this.#health.failures,
        sick_after: config.SICK_AFTER_FAILURES,
      })
      return false
    }
    if (now === 'became') {
      metrics.healthy.set(0)
      logger.error('transcoder is sick; standing down (no new jobs) until its probe passes', {
        reason: failure.reason,
        failures: config.SICK_AFTER_FAILURES,
        probe_in_ms: config.SICK_RETRY_MS,
      })
      this.#scheduleProbe()
    }
    return true
  }

  /** No more probes (the transcoder is closing). */
  close(): void {
    this.#closed = true
    clearTimeout(this.#probeTimer)
  }

  #scheduleProbe(): void {
    if (this.#closed) return
    this.#probeTimer = setTimeout(() => void this.#runProbe(), this.#deps.config.SICK_RETRY_MS)
    this.#probeTimer.unref()
  }

  /** A sick transcoder looks again: well (taking jobs at once), or sick for the reason it found. */
  async #runProbe(): Promise<void> {
    const { logger, metrics } = this.#deps
    const sick = this.#health.sick
    if (!sick || this.#closed) return
    let found: InfraFailure | null
    try {
      found = await this.#deps.probe()
    } catch (error) {
      found = { kind: sick.kind, reason: `${sick.reason} (the probe failed: ${errorMessage(error)})` }
    }
    if (found) {
      this.#health.stillSick(found)
      logger.warn('transcoder still sick', { reason: found.reason })
      return this.#scheduleProbe()
    }
    this.#health.recovered()
    metrics.healthy.set(1)
    logger.info('transcoder is well again; taking jobs', {
      was: sick.reason,
      sick_ms: Date.now() - sick.since.getTime(),
    })
    this.#recovered?.()
    this.#recovered = undefined
    this.#recovering = undefined
  }
}
