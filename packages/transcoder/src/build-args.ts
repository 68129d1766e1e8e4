import {
  type ImageProfile,
  outputFileName,
  PROFILES,
  type Profile,
  SOURCE_SIZE_NAMES,
  type StoryboardProfile,
  type VideoCodec,
  type VideoProfile,
} from '@vpp/shared'
import { FRAGMENTED_MP4 } from './byte-ranges.ts'
import { CONFINE, FORMAT_WHITELIST, NO_DREFS, type Probe } from './probe.ts'

/** One ffmpeg invocation and the files it writes. */
export interface FfmpegRun {
  args: string[]
  /** Each file the run writes; media files with the size and codec the run gives them. */
  outputs: Array<{ profile: string; path: string; media?: { width: number; height: number; codec: string } }>
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
}

/** Arguments every run starts with. */
const COMMON = ['-hide_banner', '-nostdin', '-y', '-loglevel', 'error']
/** Outputs never go above this frame rate (120 fps phone slow-motion plays at 60). */
const MAX_FPS = 60
/** A rung this close to the source's short side (or closer) stands for the source's own size. */
const NEAR_SOURCE = 0.9
/** Adjacent H.264 rungs of the default ladder are at most this far apart in short side (2.25x in pixels). */
const MAX_STEP = 1.5

/**
 * A rendition of `size` not in the table (the source's own size, or a rung above the table's),
 * named `name`. Its ceiling is the nearest table rung's below it (or the smallest rung's), scaled
 * by the pixel count to the power 0.75, in steps of 50 kbps (at least 200). The built-in table is
 * the reference, whatever subset a job or TRANSCODE_PROFILES chose: the same source gets the
 * same ceiling.
 */
function sizedProfile(
  name: string,
  codec: VideoCodec,
  size: { width: number; height: number },
): VideoProfile {
  const short = Math.min(size.width, size.height)
  const family = PROFILES.filter((p): p is VideoProfile => p.kind === 'video' && p.codec === codec)
  const byHeight = family.sort((a, b) => a.height - b.height)
  const reference = byHeight.filter((p) => p.height <= short).pop() ?? byHeight[0]
  const scale = reference ? ((size.width * size.height) / (reference.width * reference.height)) ** 0.75 : 1
  const kbps = Math.max(200, Math.round(((reference?.videoBitrateKbps ?? 800) * scale) / 50) * 50)
  return {
    name,
    kind: 'video',
    codec,
    width: size.width,
    height: size.height,
    videoBitrateKbps: kbps,
    audioBitrateKbps: reference?.audioBitrateKbps ?? 96,
    container: codec === 'h264' ? 'mp4' : 'webm',
  }
}

/** The rendition at the source's own size for one codec family: `original` or `webm_original`. */
export function originalProfile(codec: VideoCodec, probe: Probe): VideoProfile {
  return sizedProfile(SOURCE_SIZE_NAMES[codec], codec, probe)
}

/**
 * The video ladder for one source, capped at it. Every rung not taller than the source's short
 * side; the rungs left out are `skipped`, with the reason.
 *
 * - By default (`asked` unset), per codec family, one rendition at the source's own size unless a
 *   rung is within 10 % of it; and when that is more than 2.25x the next H.264 rung in pixels (a
 *   source above 4K), rungs in between, named by their short side (`2880p`).
 * - With a job's own list (`asked`), exactly the profiles it names: the source-size renditions
 *   only when it names them, nothing in between.
 */
export function ladder(
  profiles: readonly Profile[],
  probe: Probe,
  asked?: readonly string[],
): { videos: VideoProfile[]; skipped: Skipped[] } {
  const shortSide = Math.min(probe.width, probe.height)
  const skipped: Skipped[] = []
  const videos: VideoProfile[] = []
  for (const codec of ['h264', 'vp9'] as const) {
    const family = profiles.filter((p): p is VideoProfile => p.kind === 'video' && p.codec === codec)
    const original = SOURCE_SIZE_NAMES[codec]
    const askedOriginal = asked?.includes(original) ?? false
    if (family.length === 0 && !askedOriginal) continue
    const made: VideoProfile[] = []
    for (const profile of family) {
      if (profile.height > shortSide) {
        skipped.push({
          profile: profile.name,
          reason: `source is ${probe.width}x${probe.height}; ${profile.name} would upscale it`,
        })
      } else made.push(profile)
    }
    const top = Math.max(0, ...made.map((p) => p.height))
    if (asked ? askedOriginal : top < NEAR_SOURCE * shortSide) made.unshift(originalProfile(codec, probe))
    videos.push(...(codec === 'h264' && !asked ? withoutGaps(made, probe) : made))
  }
  // Back in the table's order of families (H.264 first unless the table says otherwise; a family
  // made only of its source-size rendition where the built-in table has it).
  const firstOf = (codec: string) => {
    const at = profiles.findIndex((p) => p.kind === 'video' && p.codec === codec)
    return at >= 0 ? at : PROFILES.findIndex((p) => p.kind === 'video' && p.codec === codec) - 0.5
  }
  videos.sort((a, b) => firstOf(a.codec) - firstOf(b.codec))
  return {
    videos,
    skipped: skipped.sort((a, b) => indexOf(profiles, a.profile) - indexOf(profiles, b.profile)),
  }
}

/**
 * The rungs, tallest first. When the tallest is the source-size rendition and the next is the
 * built-in table's top rung, more than MAX_STEP below it in short side (a 4320p source over
 * 1440p), rungs in between: evenly spaced in ratio, even-sized, at the source's aspect ratio.
 * Below that rung, the table decides.
 */
function withoutGaps(rungs: readonly VideoProfile[], probe: Probe): VideoProfile[] {
  const short = (p: VideoProfile) => Math.min(p.width, p.height)
  const [top, next, ...rest] = [...rungs].sort((a, b) => short(b) - short(a))
  // Only over the built-in table's top rung: an operator who left the tall rungs out of
  // TRANSCODE_PROFILES (360p alone, say) gets no others.
  const tableTop = Math.max(...PROFILES.map((p) => (p.kind === 'video' && p.codec === 'h264' ? p.height : 0)))
  if (!top || !next || top.name !== SOURCE_SIZE_NAMES.h264 || next.height < tableTop) return [...rungs]
  const ratio = short(top) / short(next)
  const between = Math.ceil(Math.log(ratio) / Math.log(MAX_STEP) - 1e-9) - 1
  const aspect = Math.max(probe.width, probe.height) / Math.min(probe.width, probe.height)
  const added: VideoProfile[] = []
  for (let k = between; k >= 1; k--) {
    // A profile's height is the rendition's short side (its width the long one, nominally).
    const height = Math.round((short(next) * ratio ** (k / (between + 1))) / 2) * 2
    const width = Math.round((height * aspect) / 2) * 2
    added.push(sizedProfile(`${height}p`, 'h264', { width, height }))
  }
  return [top, ...added, next, ...rest]
}

const indexOf = (profiles: readonly Profile[], name: string) => profiles.findIndex((p) => p.name === name)

/**
 * Pure: the ffmpeg run that produces `profiles` from an input described by `probe`, and the
 * profiles skipped because they would upscale. No probing, no file access, no clock.
 *
 * One run decodes the input once and feeds, through a `split` filter graph, every video encoder,
 * the thumbnail (scaled first, then the representative frame picked) and the storyboard's tiles.
 * With `hls`, each H.264 encoder writes a fragmented MP4 whose byte ranges its HLS rung names
 * (finishHls): one file, no second encode. A profile's height is the rendition's short side, so a
 * portrait video gets portrait renditions.
 */
export function buildArgs(
  paths: RunPaths,
  profiles: readonly Profile[],
  probe: Probe,
  options: EncodeOptions = { threads: 0 },
): FfmpegPlan {
  const { videos, skipped } = ladder(profiles, probe, options.asked)
  const hlsProfile = profiles.find((p) => p.kind === 'hls')
  const hlsRungs = hlsProfile ? videos.filter((p) => p.codec === 'h264') : []
  const hls: HlsPlan | undefined =
    hlsProfile && hlsRungs.length > 0
      ? {
          profile: hlsProfile.name,
          dir: `${paths.outDir}/${hlsProfile.name}`,
          variants: hlsRungs.map((p) => ({ profile: p.name, playlist: `${p.name}.m3u8` })),
        }
      : undefined
  if (hlsProfile && !hls) skipped.push({ profile: hlsProfile.name, reason: 'no H.264 rendition to package' })
  const thumbnail = profiles.find((p): p is ImageProfile => p.kind === 'image')
  const board = profiles.find((p): p is StoryboardProfile => p.kind === 'storyboard')
  const storyboard = board ? storyboardPlan(paths, board, probe, options) : undefined
  if (board && !storyboard) skipped.push({ profile: board.name, reason: 'the input has no known duration' })

  const branches: string[] = []
  const outputArgs: string[] = []
  const outputs: FfmpegRun['outputs'] = []
  const portrait = probe.height > probe.width
  videos.forEach((profile, i) => {
    branches.push(`[s${branches.length}]${scaleFilter(profile, portrait)},format=yuv420p[v${i}]`)
    const path = `${paths.outDir}/${outputFileName(profile)}`
    outputArgs.push('-map', `[v${i}]`)
    if (probe.hasAudio) outputArgs.push('-map', '0:a:0')
    outputArgs.push(...videoCodecArgs(profile))
    if (options.threads > 0) outputArgs.push('-threads', String(options.threads))
    outputArgs.push(...(probe.hasAudio ? audioArgs(profile) : ['-an']))
    // A rung of the HLS stream is a fragmented MP4 that its playlist names byte ranges of.
    outputArgs.push(...(hls && profile.codec === 'h264' ? FRAGMENTED_MP4 : containerArgs(profile)), path)
    outputs.push({
      profile: profile.name,
      path,
      media: { ...renditionSize(profile, probe), codec: profile.codec },
    })
  })
  if (hls) outputs.push({ profile: hls.profile, path: `${hls.dir}/master.m3u8` })
  if (thumbnail) {
    const path = `${paths.outDir}/${outputFileName(thumbnail)}`
    branches.push(`[s${branches.length}]${thumbnailFilter(thumbnail, probe)}[thumb]`)
    // biome-ignore format: flag and value on one line
    outputArgs.push('-map', '[thumb]', '-frames:v', '2', '-q:v', '3', '-update', '1', '-f', 'image2', path)
    outputs.push({
      profile: thumbnail.name,
      path,
      media: { ...thumbnailSize(thumbnail, probe), codec: 'mjpeg' },
    })
  }
  if (storyboard) {
    const { interval, tileWidth, tileHeight } = storyboard
    // One JPEG a tile, as each comes: a `tile` filter here would write its first sheet only
    // after columns x rows tiles, and ffmpeg reports no progress until every output has begun.
    // The sheets are laid out afterwards, from the tiles (sheetRun).
    branches.push(`[s${branches.length}]fps=1/${interval},scale=${tileWidth}:${tileHeight}[board]`)
    // biome-ignore format: flag and value on one line
    outputArgs.push('-map', '[board]', '-q:v', '2', '-start_number', '1', '-f', 'image2', storyboard.tilePattern)
    outputs.push({ profile: storyboard.profile, path: `${paths.outDir}/${storyboard.profile}.vtt` })
  }
  if (branches.length === 0) return { runs: [], skipped }
  // Variable or very high frame rates become a constant rate once, before the split.
  const fps = outputFps(probe)
  const head = `[0:${probe.videoIndex}]${fps ? `fps=${fps},` : ''}split=${branches.length}${branches.map((_, i) => `[s${i}]`).join('')}`
  const args = [
    ...COMMON,
    // Progress as key=value lines on stdout, twice a second (the job record takes one a second,
    // so the first comes within a second of the start).
    '-progress',
    'pipe:1',
    '-stats_period',
    '0.5',
    ...inputArgs(paths.input, probe, options),
    '-filter_complex',
    [head, ...branches].join(';'),
    ...outputArgs,
  ]
  const runs: FfmpegRun[] = [{ args, outputs, progress: true }]
  if (storyboard) runs.push(sheetRun(storyboard))
  return { runs, skipped, hls, storyboard }
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
 * An MP4 (`mp4Options`: the tee muxer's options for it) and an HLS rung of fMP4 segments from one
 * encoder, through the tee muxer: the init file named relative to the playlist, every path escaped.
 */
export function hlsTee(
  mp4Options: string,
  path: string,
  hls: { segmentSeconds: number; init: string; segments: string; playlist: string; live?: boolean },
): string[] {
  const hlsOptions = [
    'f=hls',
    `hls_time=${hls.segmentSeconds}`,
    // An event playlist is rewritten at each segment (a VOD one only at the end): `live` for a
    // run whose segments are published while it runs.
    `hls_playlist_type=${hls.live ? 'event' : 'vod'}`,
    'hls_segment_type=fmp4',
    `hls_fmp4_init_filename=${teeEscape(hls.init)}`,
    `hls_segment_filename=${teeEscape(hls.segments)}`,
    'hls_flags=independent_segments',
  ]
  return [
    '-f',
    'tee',
    `[${mp4Options}]${teeEscape(path)}|[${hlsOptions.join(':')}]${teeEscape(hls.playlist)}`,
  ]
}

/** A path inside a tee output list: its separators (`:|[]`) and backslashes escaped. */
export function teeEscape(path: string): string {
  return path.replace(/[\\:|[\]]/g, (c) => `\\${c}`)
}

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
 * Pure: the size `scaleFilter` gives a rendition, computed as ffmpeg's scale filter does (a `-2`
 * side is `av_rescale` of the other, rounded to nearest, made even), so the job record can say it
 * without probing the file. The frames reach the filter already rotated: display size.
 */
export function renditionSize(profile: VideoProfile, probe: Probe): { width: number; height: number } {
  if (Object.values(SOURCE_SIZE_NAMES).includes(profile.name as never)) {
    return { width: Math.trunc(probe.width / 2) * 2, height: Math.trunc(probe.height / 2) * 2 }
  }
  const even = (other: number, num: number, den: number) =>
    Math.max(2, Math.round((other * num) / (den * 2)) * 2)
  return probe.height > probe.width
    ? { width: profile.height, height: even(profile.height, probe.height, probe.width) }
    : { width: even(profile.height, probe.width, probe.height), height: profile.height }
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
 * Scale so the short side is the profile's height; -2 keeps the aspect ratio with the even
 * size 4:2:0 needs. The `original` rendition keeps the source size, rounded down to even.
 */
function scaleFilter(profile: VideoProfile, portrait: boolean): string {
  if (Object.values(SOURCE_SIZE_NAMES).includes(profile.name as never))
    return 'scale=trunc(iw/2)*2:trunc(ih/2)*2'
  return portrait ? `scale=${profile.height}:-2` : `scale=-2:${profile.height}`
}

/** The constant output rate for variable or too-high frame rates; null to keep the source's. */
export function outputFps(probe: Probe): string | null {
  if (probe.frameRate === null) return null
  if (probe.frameRate > MAX_FPS) return String(MAX_FPS)
  if (probe.variableFrameRate) return String(Math.min(MAX_FPS, Math.round(probe.frameRate)))
  return null
}

/** The ffmpeg encoder of each video codec. */
const VIDEO_ENCODERS = { h264: 'libx264', vp9: 'libvpx-vp9' } as const

/** The ffmpeg audio encoder of a rendition: Opus in WebM, AAC in MP4. */
const audioEncoder = (profile: VideoProfile) => (profile.container === 'webm' ? 'libopus' : 'aac')

/**
 * The ffmpeg encoders making `profiles` takes, as `ffmpeg -encoders` lists them (what a sick
 * transcoder's probe checks are there): each rendition's video and audio encoder, H.264's for the
 * HLS ladder, JPEG for thumbnails and storyboard sheets.
 */
export function encodersFor(profiles: readonly Profile[]): string[] {
  const needed = new Set<string>()
  for (const profile of profiles) {
    if (profile.kind === 'video') needed.add(VIDEO_ENCODERS[profile.codec]).add(audioEncoder(profile))
    else if (profile.kind === 'hls') needed.add(VIDEO_ENCODERS.h264).add('aac')
    else needed.add('mjpeg')
  }
  return [...needed].sort()
}

/**
 * Capped CRF: constant quality, the profile's bitrate as a ceiling (x264: `-maxrate` with a 2 s
 * `-bufsize`; libvpx: constrained quality, `-b:v` the ceiling). A static picture comes out well
 * below the cap, a hard one at it. Chosen by measurement: docs/transcoding.md, "Rate control".
 * Per chunk too: a chunk's rate control does not depend on its neighbours.
 */
export const CRF = { h264: 21, vp9: 33 } as const

/** A rendition's video encoder: capped CRF, a keyframe every 2 s whatever the frame rate. */
export function videoCodecArgs(profile: VideoProfile): string[] {
  const cap = `${profile.videoBitrateKbps}k`
  // Every 2 s of the run, from its first frame: players seek (and HLS segments cut) evenly, and
  // a chunk starts on a segment boundary.
  const keyframes = ['-force_key_frames', 'expr:gte(t,n_forced*2)']
  if (profile.codec === 'h264') {
    // biome-ignore format: flag and value on one line
    return [
      '-c:v', VIDEO_ENCODERS.h264,
      // Measured (docs/transcoding.md, "Encoder settings"): the knee of speed against SSIM on camera footage.
      '-preset', 'veryfast', '-profile:v', 'high',
      '-crf', String(CRF.h264), '-maxrate', cap, '-bufsize', `${profile.videoBitrateKbps * 2}k`,
      ...keyframes,
    ]
  }
  // biome-ignore format: flag and value on one line
  return [
    '-c:v', VIDEO_ENCODERS.vp9, '-crf', String(CRF.vp9), '-b:v', cap,
    // Measured (docs/transcoding.md, "Encoder settings"): libvpx's realtime mode at speed 8 is
    // within 0.001-0.006 SSIM of "good" at speed 5 for about a quarter of the time.
    '-deadline', 'realtime', '-cpu-used', '8', '-row-mt', '1',
    ...keyframes,
  ]
}

function audioArgs(profile: VideoProfile): string[] {
  // Any channel layout in (mono, 5.1, ...), stereo out: what every browser plays.
  return ['-c:a', audioEncoder(profile), '-b:a', `${profile.audioBitrateKbps}k`, '-ac', '2']
}

function containerArgs(profile: VideoProfile): string[] {
  // faststart: the index goes before the media, so playback starts before the download ends.
  if (profile.container === 'mp4') return ['-movflags', '+faststart', '-f', 'mp4']
  return ['-f', 'webm']
}

/**
 * The input, confined to what it is: a local file (no other protocol, no data references),
 * read by the demuxer ffprobe found (never one chosen by probing again), decoded only at sizes
 * within MAX_PIXELS (a stream may change size midway), and read no further than a second past
 * MAX_DURATION_SECONDS, whatever length its container claims or hides. `file:` keeps the path
 * from reading as a protocol.
 */
export function inputArgs(input: string, probe: Probe, options: EncodeOptions): string[] {
  const args = [...CONFINE, '-format_whitelist', FORMAT_WHITELIST]
  if (probe.demuxer) args.push('-f', probe.demuxer)
  if (probe.demuxer === 'mov') args.push(...NO_DREFS)
  if (options.maxPixels) args.push('-max_pixels', String(options.maxPixels))
  // Always, whatever the container claims: a second past the limit, so a run whose output goes
  // past the limit proves the input longer than it (duration_too_long), not merely cut at it.
  if (options.maxDurationSeconds) args.push('-t', String(options.maxDurationSeconds + 1))
  args.push('-i', `file:${input}`)
  return args
}

/**
 * The thumbnail branch: from a quarter in (past title cards and fade-ins, at most a minute), the
 * frames are scaled to fit inside w x h first (keeping the aspect ratio, no bars), then ffmpeg's
 * thumbnail filter picks the most representative of about 3 s of them.
 */
function thumbnailFilter(profile: ImageProfile, probe: Probe): string {
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
