/** One block of ffmpeg's `-progress` output, reduced to what the job record shows. */
export interface ProgressUpdate {
  /** Seconds of output written so far. */
  outTime: number
  /** ffmpeg said `progress=end`. */
  done: boolean
}

/**
 * Pure, stateful line parser for `-progress pipe:1`: ffmpeg writes `key=value` lines and ends
 * each block with `progress=continue` (or `end`); `onUpdate` gets one call per block.
 */
export function progressParser(onUpdate: (update: ProgressUpdate) => void): (line: string) => void {
  let outTime = 0
  return (line) => {
    const eq = line.indexOf('=')
    if (eq < 0) return
    const key = line.slice(0, eq).trim()
    const value = line.slice(eq + 1).trim()
    // out_time_us and out_time_ms are both microseconds (an old ffmpeg misnomer); N/A at the start.
    if (key === 'out_time_us' || key === 'out_time_ms') {
      const us = Number(value)
      if (Number.isFinite(us) && us >= 0) outTime = us / 1e6
    } else if (key === 'progress') {
      onUpdate({ outTime, done: value === 'end' })
    }
  }
}

/** 0-100 with one decimal, from output time over input duration; null when the duration is unknown. */
export function progressPercent(outTime: number, duration: number | null): number | null {
  if (duration === null || duration <= 0) return null
  return Math.round(Math.min(100, Math.max(0, (outTime / duration) * 100)) * 10) / 10
}

/** Seconds left at the pace so far; null until there is a pace to go by. */
export function etaSeconds(elapsedMs: number, percent: number | null): number | null {
  if (percent === null || percent < 1 || elapsedMs <= 0) return null
  return Math.round(((elapsedMs / 1000) * (100 - percent)) / percent)
}
