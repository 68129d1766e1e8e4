/**
 * Progress on a terminal: byte and time formats, a transfer rate over the last few seconds, the
 * lines of the upload and transcode bars, and a reporter that redraws one line on a TTY and
 * writes one line per 10 % anywhere else (a log, a CI job). Pure but for the stream written to.
 */

import { formatBytes, formatDuration } from '@vpp/client'

export { formatBytes, formatDuration, RateMeter } from '@vpp/client'

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
