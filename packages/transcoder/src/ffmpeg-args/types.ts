/** What buildArgs plans: ffmpeg runs, the files they write, and what the transcoder adds after. */

import type { Loudness } from './loudness.ts'
import type { WatermarkRun } from './watermark.ts'

/** One ffmpeg invocation and the files it writes. */
export interface FfmpegRun {
  args: string[]
  /** Each file the run writes; media files with the size and codec the run gives them. */
  outputs: Array<{
    profile: string
    path: string
    /** Its size (null for audio alone) and codec; none for a packaged output (HLS, storyboard). */
    media?: { width: number | null; height: number | null; codec: string }
  }>
  /** The run reports progress on stdout (`-progress pipe:1`). */
  progress: boolean
}

export interface Skipped {
  profile: string
  reason: string
}

/** The HLS presentation the run writes, for the master playlist the transcoder adds. */
export interface HlsPlan {
  profile: string
  /**
   * `{outDir}/{profile}`: master.m3u8 goes here, and each rung's playlist, `{rung}.m3u8`, of byte
   * ranges of its MP4 (`../{rung}.mp4`): each rendition is stored once.
   */
  dir: string
  /** The H.264 renditions packaged, in ladder order; `playlist` relative to `dir`. */
  variants: Array<{ profile: string; playlist: string }>
  /**
   * The audio alone (`audio`), an audio-only variant of its own: `playlist` (relative to `dir`),
   * byte ranges of its fragmented M4A (`../{profile}.m4a`).
   */
  audio?: { profile: string; playlist: string }
}

/** The storyboard the run writes as sheets, for the WebVTT file the transcoder adds. */
export interface StoryboardPlan {
  profile: string
  /** Seconds between two tiles. */
  interval: number
  tileWidth: number
  tileHeight: number
  columns: number
  rows: number
  /** Tiles in all (the sheets hold `columns x rows` each; the last may hold fewer). */
  tiles: number
  /** How the main run names the tiles, one JPEG each: `storyboard-tile-%05d.jpg`, from 1. */
  tilePattern: string
  /** How the sheet run names the sheets: `storyboard-%d.jpg`, from 1. */
  sheetPattern: string
}

export interface FfmpegPlan {
  runs: FfmpegRun[]
  skipped: Skipped[]
  hls?: HlsPlan
  storyboard?: StoryboardPlan
}

export interface RunPaths {
  input: string
  /** Directory the outputs are written to, as `{profile}.{ext}`. */
  outDir: string
}

export interface EncodeOptions {
  /** Threads per encoder (`-threads`); 0 lets ffmpeg choose. See threadsPerEncoder. */
  threads: number
  /** MAX_PIXELS, also enforced by the decoder (`-max_pixels`); unset: ffmpeg's default. */
  maxPixels?: number
  /** MAX_DURATION_SECONDS: every input is read a second past it at most (`-t`), whatever its container claims. */
  maxDurationSeconds?: number
  /** HLS_SEGMENT_SECONDS: target segment length (default 4; segments cut at the 2 s keyframes). */
  hlsSegmentSeconds?: number
  /** STORYBOARD_INTERVAL: seconds between storyboard tiles; unset: about 100 tiles in all. */
  storyboardInterval?: number
  /** The job's own profile list, when it gave one: exactly those are made (ladder). */
  asked?: readonly string[]
  /** The job's clip: only `[start, end)` of the input is read (clipInput), its timeline from 0. */
  clip?: { start: number; end: number }
  /** The job's watermark: its PNG, the run's second input, laid over the video (videoHead). */
  watermark?: WatermarkRun
  /** `normalize_audio`: pass 1's measurement; every audio output is normalised with it (loudness.ts). */
  loudness?: Loudness | null
}
