/**
 * Sizes, durations and transfer rates for people: what the CLI's progress lines and the console
 * show. Pure.
 */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB']

/** 0 B, 999 B, 1.0 KiB, 12.3 MiB, 1.5 GiB. */
export function formatBytes(bytes: number): string {
  let value = Math.max(0, bytes)
  let unit = 0
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${UNITS[unit]}`
}

/** An output's size: `1280x720`, or `audio` for the audio alone (no width or height). */
export function formatResolution(
  output: { width: number | null; height: number | null },
  times = 'x',
): string {
  return output.width === null || output.height === null ? 'audio' : `${output.width}${times}${output.height}`
}

/** 0s, 42s, 1m05s, 2h03m. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}

/**
 * Bytes per second over the last `windowMs`: what the bar shows while it moves (a rate since
 * the start would hide a stall). `add` takes the running total.
 */
export class RateMeter {
  readonly #samples: Array<{ at: number; bytes: number }> = []

  constructor(
    readonly windowMs = 5000,
    readonly now: () => number = () => performance.now(),
  ) {}

  add(bytes: number): void {
    const at = this.now()
    this.#samples.push({ at, bytes })
    // Keep one sample at or before the window's start, so the span covers the whole window.
    while (this.#samples.length > 2 && (this.#samples[1]?.at ?? at) <= at - this.windowMs)
      this.#samples.shift()
  }

  perSecond(): number {
    const first = this.#samples[0]
    const last = this.#samples.at(-1)
    if (!first || !last || last.at - first.at <= 0) return 0
    return ((last.bytes - first.bytes) * 1000) / (last.at - first.at)
  }
}
