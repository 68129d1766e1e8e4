import { type ImageProfile, outputFileName, type Profile, type VideoProfile } from '@vpp/shared'
import { CONFINE, FORMAT_WHITELIST, NO_DREFS, type Probe } from './probe.ts'

/** One ffmpeg invocation and the files it writes. */
export interface FfmpegRun {
  args: string[]
  outputs: Array<{ profile: string; path: string }>
  /** The run reports progress on stdout (`-progress pipe:1`). */
  progress: boolean
}

export interface Skipped {
  profile: string
  reason: string
}

export interface FfmpegPlan {
  runs: FfmpegRun[]
  skipped: Skipped[]
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
  /** MAX_DURATION_SECONDS: an input whose duration ffprobe cannot tell is read this far at most (`-t`). */
  maxDurationSeconds?: number
}

/** Arguments every run starts with. */
const COMMON = ['-hide_banner', '-nostdin', '-y', '-loglevel', 'error']
/** Outputs never go above this frame rate (120 fps phone slow-motion plays at 60). */
const MAX_FPS = 60

/** Rendition for a source smaller than every video profile: H.264 at the source's own size. */
export function originalProfile(profiles: readonly Profile[], probe: Probe): VideoProfile {
  const h264 = profiles.filter((p): p is VideoProfile => p.kind === 'video' && p.codec === 'h264')
  const smallest = h264.sort((a, b) => a.height - b.height)[0]
  return {
    name: 'original',
    kind: 'video',
    codec: 'h264',
    width: probe.width,
    height: probe.height,
    videoBitrateKbps: smallest?.videoBitrateKbps ?? 800,
    audioBitrateKbps: smallest?.audioBitrateKbps ?? 96,
    container: 'mp4',
  }
}

/**
 * Pure: the ffmpeg runs that produce `profiles` from an input described by `probe`, and the
 * profiles skipped because they would upscale. No probing, no file access, no clock.
 *
 * Every video rendition comes from one run that decodes the input once and feeds each encoder
 * through a `split` filter graph; each image profile is its own run that seeks into the video.
 * A profile's height is the rendition's short side, so a portrait video gets portrait renditions.
 */
export function buildArgs(
  paths: RunPaths,
  profiles: readonly Profile[],
  probe: Probe,
  options: EncodeOptions = { threads: 0 },
): FfmpegPlan {
  const shortSide = Math.min(probe.width, probe.height)
  const skipped: Skipped[] = []
  const videos: VideoProfile[] = []
  for (const profile of profiles) {
    if (profile.kind !== 'video') continue
    if (profile.height > shortSide) {
      skipped.push({
        profile: profile.name,
        reason: `source is ${probe.width}x${probe.height}; ${profile.name} would upscale it`,
      })
    } else videos.push(profile)
  }
  const anyVideo = profiles.some((p) => p.kind === 'video')
  const runs: FfmpegRun[] = []
  if (videos.length > 0) runs.push(renditionsRun(paths, videos, probe, options))
  else if (anyVideo) runs.push(renditionsRun(paths, [originalProfile(profiles, probe)], probe, options))
  for (const profile of profiles) {
    if (profile.kind === 'image') runs.push(imageRun(paths, profile, probe, options))
  }
  return { runs, skipped }
}

function renditionsRun(
  paths: RunPaths,
  profiles: VideoProfile[],
  probe: Probe,
  options: EncodeOptions,
): FfmpegRun {
  const portrait = probe.height > probe.width
  // Variable or very high frame rates become a constant rate once, before the split.
  const fps = outputFps(probe)
  const head = `[0:${probe.videoIndex}]${fps ? `fps=${fps},` : ''}split=${profiles.length}${profiles.map((_, i) => `[s${i}]`).join('')}`
  const scales = profiles.map((p, i) => `[s${i}]${scaleFilter(p, portrait)},format=yuv420p[v${i}]`)
  const args = [
    ...COMMON,
    // Progress as key=value lines on stdout, once a second (read into the job record).
    '-progress',
    'pipe:1',
    '-stats_period',
    '1',
    ...inputArgs(paths.input, probe, options),
    '-filter_complex',
    [head, ...scales].join(';'),
  ]
  const outputs: FfmpegRun['outputs'] = []
  profiles.forEach((profile, i) => {
    const path = `${paths.outDir}/${outputFileName(profile)}`
    args.push('-map', `[v${i}]`)
    if (probe.hasAudio) args.push('-map', '0:a:0')
    args.push(...videoCodecArgs(profile))
    if (options.threads > 0) args.push('-threads', String(options.threads))
    args.push(...(probe.hasAudio ? audioArgs(profile) : ['-an']))
    args.push(...containerArgs(profile), path)
    outputs.push({ profile: profile.name, path })
  })
  return { args, outputs, progress: true }
}

/**
 * Scale so the short side is the profile's height; -2 keeps the aspect ratio with the even
 * size 4:2:0 needs. The `original` rendition keeps the source size, rounded down to even.
 */
function scaleFilter(profile: VideoProfile, portrait: boolean): string {
  if (profile.name === 'original') return 'scale=trunc(iw/2)*2:trunc(ih/2)*2'
  return portrait ? `scale=${profile.height}:-2` : `scale=-2:${profile.height}`
}

/** The constant output rate for variable or too-high frame rates; null to keep the source's. */
export function outputFps(probe: Probe): string | null {
  if (probe.frameRate === null) return null
  if (probe.frameRate > MAX_FPS) return String(MAX_FPS)
  if (probe.variableFrameRate) return String(Math.min(MAX_FPS, Math.round(probe.frameRate)))
  return null
}

function videoCodecArgs(profile: VideoProfile): string[] {
  const rate = `${profile.videoBitrateKbps}k`
  // A keyframe every 2 seconds whatever the frame rate, so players can seek (and segment) evenly.
  const keyframes = ['-force_key_frames', 'expr:gte(t,n_forced*2)']
  if (profile.codec === 'h264') {
    return [
      '-c:v',
      'libx264',
      // Measured (README, "Encoder settings"): the knee of speed against SSIM on camera footage.
      '-preset',
      'veryfast',
      '-profile:v',
      'high',
      '-b:v',
      rate,
      // Cap the peak rate and the decoder buffer (2 s) so the stream plays over a link of that rate.
      '-maxrate',
      rate,
      '-bufsize',
      `${profile.videoBitrateKbps * 2}k`,
      ...keyframes,
    ]
  }
  return [
    '-c:v',
    'libvpx-vp9',
    '-b:v',
    rate,
    // Measured (README, "Encoder settings"): libvpx's realtime mode at speed 8 is within 0.001-0.006
    // SSIM of "good" at speed 5 for about a quarter of the time, and keeps to the bitrate.
    '-deadline',
    'realtime',
    '-cpu-used',
    '8',
    '-row-mt',
    '1',
    ...keyframes,
  ]
}

function audioArgs(profile: VideoProfile): string[] {
  const codec = profile.container === 'webm' ? 'libopus' : 'aac'
  // Any channel layout in (mono, 5.1, ...), stereo out: what every browser plays.
  return ['-c:a', codec, '-b:a', `${profile.audioBitrateKbps}k`, '-ac', '2']
}

function containerArgs(profile: VideoProfile): string[] {
  // faststart: the index goes before the media, so playback starts before the download ends.
  if (profile.container === 'mp4') return ['-movflags', '+faststart', '-f', 'mp4']
  return ['-f', 'webm']
}

/**
 * The input, confined to what it is: a local file (no other protocol, no data references),
 * read by the demuxer ffprobe found (never one chosen by probing again), decoded only at sizes
 * within MAX_PIXELS (a stream may change size midway), and, when its length is unknown (a live
 * recording, a browser's MediaRecorder WebM), read no further than MAX_DURATION_SECONDS.
 * `file:` keeps the path from reading as a protocol.
 */
function inputArgs(input: string, probe: Probe, options: EncodeOptions): string[] {
  const args = [...CONFINE, '-format_whitelist', FORMAT_WHITELIST]
  if (probe.demuxer) args.push('-f', probe.demuxer)
  if (probe.demuxer === 'mov') args.push(...NO_DREFS)
  if (options.maxPixels) args.push('-max_pixels', String(options.maxPixels))
  if (probe.duration === null && options.maxDurationSeconds)
    args.push('-t', String(options.maxDurationSeconds))
  args.push('-i', `file:${input}`)
  return args
}

function imageRun(paths: RunPaths, profile: ImageProfile, probe: Probe, options: EncodeOptions): FfmpegRun {
  const path = `${paths.outDir}/${outputFileName(profile)}`
  const { width: w, height: h } = profile
  // ffmpeg's thumbnail filter picks the most representative of a window of frames (about 3 s).
  const window = Math.max(10, Math.min(100, Math.round((probe.frameRate ?? 25) * 3)))
  return {
    args: [
      ...COMMON,
      // Before -i: a fast seek (to the keyframe before, then decoding up to the point).
      '-ss',
      thumbnailTime(probe.duration),
      ...inputArgs(paths.input, probe, options),
      '-map',
      `0:${probe.videoIndex}`,
      // Fit inside w x h keeping the aspect ratio (no bars).
      '-vf',
      `thumbnail=n=${window},scale=${w}:${h}:force_original_aspect_ratio=decrease:force_divisible_by=2`,
      '-frames:v',
      '1',
      '-q:v',
      '3',
      '-update',
      '1',
      '-f',
      'image2',
      path,
    ],
    outputs: [{ profile: profile.name, path }],
    progress: false,
  }
}

/** A quarter into the video (past title cards and fade-ins), at most one minute in. */
export function thumbnailTime(duration: number | null): string {
  if (duration === null) return '0'
  return Math.min(duration * 0.25, 60).toFixed(3)
}
