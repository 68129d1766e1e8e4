/**
 * Progress on a terminal: byte and time formats, a transfer rate over the last few seconds, the
 * lines of the upload and transcode bars, and a reporter that redraws one line on a TTY and
 * writes one line per 10 % anywhere else (a log, a CI job). Pure but for the stream written to.
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

/** 0s, 42s, 1m05s, 2h03m. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}

/** A time taken: 0.4s, 9.9s, then as formatDuration. */
export function formatElapsed(seconds: number): string {
  return seconds < 9.95 ? `${Math.max(0, seconds).toFixed(1)}s` : formatDuration(seconds)
}

/** ` 42%`: rounded down, so 100% means done. */
export function formatPercent(fraction: number): string {
  return `${Math.floor(clamp(fraction) * 100)}%`.padStart(4)
}

/** `[#########...........]`. */
export function bar(fraction: number, width = 20): string {
  const full = Math.floor(clamp(fraction) * width)
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}]`
}

/** `upload    [####................]  21%  2.1 MiB / 10.0 MiB  3.4 MiB/s` */
export function uploadLine(sent: number, total: number, bytesPerSecond: number): string {
  const fraction = total > 0 ? sent / total : 1
  return `upload    ${bar(fraction)} ${formatPercent(fraction)}  ${formatBytes(sent)} / ${formatBytes(total)}  ${formatBytes(bytesPerSecond)}/s`
}

/** `transcode [########............]  42%  ETA 3s` */
export function transcodeLine(percent: number, etaSeconds?: number): string {
  const eta = etaSeconds === undefined ? '' : `  ETA ${formatDuration(etaSeconds)}`
  return `transcode ${bar(percent / 100)} ${formatPercent(percent / 100)}${eta}`
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

export interface ProgressStream {
  write(text: string): unknown
  isTTY?: boolean
}

/**
 * One progress line. On a TTY it is redrawn in place with `\r` (at most every `intervalMs`, and
 * always at 100 %); elsewhere a line is written each time another 10 % is reached, the first
 * wherever it starts (a resumed upload starts past 0). `note` writes a line of its own above
 * the bar; `end` leaves the last drawing as it is.
 */
export class ProgressReporter {
  #drawn = 0
  #lastDraw = Number.NEGATIVE_INFINITY
  #step = -1

  constructor(
    readonly out: ProgressStream,
    readonly options: { intervalMs?: number; now?: () => number } = {},
  ) {}

  update(fraction: number, line: string): void {
    if (!this.out.isTTY) {
      const step = Math.floor(clamp(fraction) * 10)
      if (step <= this.#step) return
      this.#step = step
      this.out.write(`${line}\n`)
      return
    }
    const now = (this.options.now ?? (() => performance.now()))()
    if (fraction < 1 && now - this.#lastDraw < (this.options.intervalMs ?? 100)) return
    this.#lastDraw = now
    this.out.write(`\r${line}${' '.repeat(Math.max(0, this.#drawn - line.length))}`)
    this.#drawn = line.length
  }

  note(text: string): void {
    if (this.#drawn > 0) this.out.write(`\r${' '.repeat(this.#drawn)}\r`)
    this.#drawn = 0
    this.#lastDraw = Number.NEGATIVE_INFINITY
    this.out.write(`${text}\n`)
  }

  end(): void {
    if (this.#drawn > 0) this.out.write('\n')
    this.#drawn = 0
    this.#lastDraw = Number.NEGATIVE_INFINITY
    this.#step = -1
  }
}

function clamp(fraction: number): number {
  return Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0
}
