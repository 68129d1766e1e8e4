/**
 * Pure: a watermark laid over the video once, at the head of the filter graph, before the split
 * into renditions: every rung, the HLS stream, the thumbnail and the storyboard get it, each
 * scaled with its rung. Its size and margin are pixels of the source's display width, computed
 * here (no `scale2ref`, which ffmpeg 7 deprecates).
 */
import type { Watermark, WatermarkPosition } from '@vpp/shared'
import type { Probe } from '../probe.ts'
import { splitHead } from './input.ts'

/** A job's watermark for one run: the PNG (a local file) and where it goes. */
export interface WatermarkRun {
  path: string
  placement: Watermark
}

/** The PNG's path as a failure's message names it: `watermark`, not this machine's path. */
export const watermarkPaths = (watermark?: WatermarkRun): Record<string, string> =>
  watermark ? { [`file:${watermark.path}`]: 'watermark', [watermark.path]: 'watermark' } : {}

/** Its input's index in every run that has one: the second, after the video. */
const INPUT = 1

/**
 * The PNG as the run's second input, confined as the video is: a local file (no other
 * protocol), read by the PNG demuxer only (never one chosen by probing). One frame: `overlay`
 * holds it over every frame of the video (its `eof_action=repeat`).
 */
export function watermarkInputArgs(path: string): string[] {
  return ['-protocol_whitelist', 'file', '-f', 'png_pipe', '-i', `file:${path}`]
}

/** `overlay`'s x and y for a position, `margin` pixels from the nearest edges. */
function place(position: WatermarkPosition, margin: number): string {
  const right = `main_w-overlay_w-${margin}`
  const bottom = `main_h-overlay_h-${margin}`
  switch (position) {
    case 'top-left':
      return `x=${margin}:y=${margin}`
    case 'top-right':
      return `x=${right}:y=${margin}`
    case 'bottom-left':
      return `x=${margin}:y=${bottom}`
    case 'bottom-right':
      return `x=${right}:y=${bottom}`
    case 'center':
      return 'x=(main_w-overlay_w)/2:y=(main_h-overlay_h)/2'
  }
}

/**
 * The watermark's width (even, at least 2), its largest height (the picture's, less the margins:
 * a tall narrow PNG is fitted, never taller than the video) and its margin, in pixels of a
 * source `width` x `height` (its display size: frames reach the graph turned upright).
 */
export function watermarkPixels(
  placement: Watermark,
  width: number,
  height: number,
): { width: number; maxHeight: number; margin: number } {
  const margin = Math.round(width * placement.margin)
  return {
    width: Math.max(2, Math.round((width * placement.width) / 2) * 2),
    maxHeight: Math.max(2, Math.floor((height - 2 * margin) / 2) * 2),
    margin,
  }
}

/**
 * The graph's head (splitHead's), the watermark laid over the video after `filters` (the
 * rotation and frame rate: each ending in a comma, or none) and before the split: the PNG
 * scaled to its width (its height in proportion, within the picture), kept in RGBA for its
 * transparency.
 * Without a watermark, splitHead's own.
 */
export function videoHead(
  input: string,
  filters: string,
  branches: number,
  probe: Pick<Probe, 'width' | 'height'>,
  watermark?: Watermark,
): string {
  if (!watermark) return splitHead(input, filters, branches)
  const { width, maxHeight, margin } = watermarkPixels(watermark, probe.width, probe.height)
  // Its width, or less when that would make it taller than the picture: aspect kept, sides even.
  const fit = `${width}:${maxHeight}:force_original_aspect_ratio=decrease:force_divisible_by=2`
  const image = `[${INPUT}:v]scale=${fit},format=rgba[wm]`
  const base = filters ? `[${input}]${filters.slice(0, -1)}[base];[base]` : `[${input}]`
  const labels = Array.from({ length: branches }, (_, i) => `[s${i}]`).join('')
  return `${image};${base}[wm]overlay=${place(watermark.position, margin)},split=${branches}${labels}`
}
