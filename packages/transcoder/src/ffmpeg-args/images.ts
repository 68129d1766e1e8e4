/** Pure: the still images of a job: the thumbnail's filter and size, the storyboard's plan and sheets. */
import type { ImageProfile, StoryboardProfile } from '@vpp/shared'
import type { Probe } from '../probe.ts'
import { COMMON } from './input.ts'
import type { EncodeOptions, FfmpegRun, RunPaths, StoryboardPlan } from './types.ts'

/**
 * The storyboard's tiles: `tileWidth` wide at the video's aspect ratio (height even), one every
 * STORYBOARD_INTERVAL seconds or, unset, every `duration / 100` seconds (at least one a second),
 * on sheets of up to columns x rows (a shorter video's single sheet is just big enough).
 * Undefined when the duration is unknown (the cues could not cover it).
 */
export function storyboardPlan(
  paths: RunPaths,
  board: StoryboardProfile,
  probe: Probe,
  options: EncodeOptions,
): StoryboardPlan | undefined {
  if (probe.duration === null) return undefined
  const perSheet = board.columns * board.rows
  const interval = options.storyboardInterval ?? Math.max(1, Math.ceil(probe.duration / perSheet))
  const tiles = Math.max(1, Math.ceil(probe.duration / interval))
  const columns = Math.min(board.columns, tiles)
  const rows = Math.min(board.rows, Math.ceil(tiles / columns))
  const tileHeight = Math.max(2, Math.round((board.tileWidth * probe.height) / probe.width / 2) * 2)
  return {
    profile: board.name,
    interval,
    tileWidth: board.tileWidth,
    tileHeight,
    columns,
    rows,
    tiles,
    tilePattern: `${paths.outDir}/${board.name}-tile-%05d.jpg`,
    sheetPattern: `${paths.outDir}/${board.name}-%d.jpg`,
  }
}

/**
 * The storyboard's sheets from its tiles (small JPEGs the main run wrote): columns x rows a
 * sheet, the last one partly filled. Reads no source, decodes only the tiles.
 */
export function sheetRun(plan: StoryboardPlan): FfmpegRun {
  const args = [
    ...COMMON,
    // biome-ignore format: flag and value on one line
    '-f',
    'image2',
    '-framerate',
    '1',
    '-start_number',
    '1',
    '-i',
    plan.tilePattern,
    '-vf',
    `tile=${plan.columns}x${plan.rows}`,
    // biome-ignore format: flag and value on one line
    '-q:v',
    '5',
    '-start_number',
    '1',
    '-f',
    'image2',
    plan.sheetPattern,
  ]
  return { args, outputs: [], progress: false }
}

/**
 * Pure: the thumbnail's size, as ffmpeg's scale filter fits the frame inside w x h
 * (`force_original_aspect_ratio=decrease`: each side the smaller of the box's and the other
 * side's rescale, then floored to `force_divisible_by=2`).
 */
export function thumbnailSize(profile: ImageProfile, probe: Probe): { width: number; height: number } {
  const fitWidth = Math.min(profile.width, Math.round((profile.height * probe.width) / probe.height))
  const fitHeight = Math.min(profile.height, Math.round((profile.width * probe.height) / probe.width))
  return {
    width: Math.max(2, Math.floor(fitWidth / 2) * 2),
    height: Math.max(2, Math.floor(fitHeight / 2) * 2),
  }
}

/**
 * The thumbnail branch: from a quarter in (past title cards and fade-ins, at most a minute), the
 * frames are scaled to fit inside w x h first (keeping the aspect ratio, no bars), then ffmpeg's
 * thumbnail filter picks the most representative of about 3 s of them.
 */
export function thumbnailFilter(profile: ImageProfile, probe: Probe): string {
  return thumbnailBranch(profile, probe, thumbnailTime(probe.duration))
}

/** The thumbnail branch, its pick made from `start` (seconds into what the run reads). */
export function thumbnailBranch(profile: ImageProfile, probe: Probe, start: string): string {
  const window = Math.max(10, Math.min(100, Math.round((probe.frameRate ?? 25) * 3)))
  const { width: w, height: h } = profile
  const scale = `scale=${w}:${h}:force_original_aspect_ratio=decrease:force_divisible_by=2`
  // The first frame goes out at once, the chosen one after it (the output keeps the last): an
  // output that began only at the quarter point would hold back ffmpeg's progress until then.
  return (
    `split=2[tf][tb];[tf]trim=end_frame=1,${scale}[tfirst];` +
    `[tb]trim=start=${start},${scale},thumbnail=n=${window},trim=end_frame=1[tbest];` +
    '[tfirst][tbest]concat=n=2:v=1:a=0'
  )
}

/** A quarter into the video (past title cards and fade-ins), at most one minute in. */
export function thumbnailTime(duration: number | null): string {
  if (duration === null) return '0'
  return Math.min(duration * 0.25, 60).toFixed(3)
}
