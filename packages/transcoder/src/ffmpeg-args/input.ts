/** Pure: how every run starts, how it reads its input, and the frame rate it decodes at. */
import type { Clip } from '@vpp/shared'
import { CONFINE, FORMAT_WHITELIST, NO_DREFS, type Probe } from '../probe.ts'
import type { EncodeOptions } from './types.ts'

/** Arguments every run starts with. */
export const COMMON = ['-hide_banner', '-nostdin', '-y', '-loglevel', 'error']
/**
 * Progress as key=value lines on stdout, twice a second (the job record takes one a second, so
 * the first comes within a second of the start).
 */
export const PROGRESS = ['-progress', 'pipe:1', '-stats_period', '0.5']
/** Outputs never go above this frame rate (120 fps phone slow-motion plays at 60). */
const MAX_FPS = 60

/**
 * The input, confined to what it is: a local file (no other protocol, no data references),
 * read by the demuxer ffprobe found (never one chosen by probing again), decoded only at sizes
 * within MAX_PIXELS (a stream may change size midway), and read no further than a second past
 * MAX_DURATION_SECONDS, whatever length its container claims or hides. `file:` keeps the path
 * from reading as a protocol. With a clip, only the clip is read (clipInput).
 */
export function inputArgs(input: string, probe: Probe, options: EncodeOptions): string[] {
  const args = [...CONFINE, '-format_whitelist', FORMAT_WHITELIST]
  if (probe.demuxer) args.push('-f', probe.demuxer)
  if (probe.demuxer === 'mov') args.push(...NO_DREFS)
  if (options.maxPixels) args.push('-max_pixels', String(options.maxPixels))
  // Always, whatever the container claims: a second past the limit, so a run whose output goes
  // past the limit proves the input longer than it (duration_too_long), not merely cut at it.
  const readLimit = options.maxDurationSeconds ? options.maxDurationSeconds + 1 : undefined
  if (options.clip) args.push(...clipInput(options.clip, readLimit))
  else if (readLimit) args.push('-t', String(readLimit))
  args.push('-i', `file:${input}`)
  return args
}

/**
 * Input options that read only a clip of an input: `-ss start` (frame-accurate when re-encoding:
 * decoded from the keyframe before, every stream trimmed at `start` exactly, timestamps from 0
 * after it) and `-t` its length, at most `maxSeconds`. None without a clip.
 */
export function clipInput(clip: Clip | null | undefined, maxSeconds?: number): string[] {
  if (!clip) return []
  const length = clip.end - clip.start
  return ['-ss', String(clip.start), '-t', String(maxSeconds ? Math.min(length, maxSeconds) : length)]
}

/** The constant output rate for variable or too-high frame rates; null to keep the source's. */
export function outputFps(probe: Probe): string | null {
  if (probe.frameRate === null) return null
  if (probe.frameRate > MAX_FPS) return String(MAX_FPS)
  if (probe.variableFrameRate) return String(Math.min(MAX_FPS, Math.round(probe.frameRate)))
  return null
}

/**
 * The filter graph's head: `input`, then `filters` (each ending in a comma, or none), split into
 * `branches` labelled [s0], [s1], ...: one decode feeding every output.
 */
export function splitHead(input: string, filters: string, branches: number): string {
  return `[${input}]${filters}split=${branches}${Array.from({ length: branches }, (_, i) => `[s${i}]`).join('')}`
}
