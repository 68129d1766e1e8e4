import { type ImageProfile, outputFileName, type Profile, type VideoProfile } from '@vpp/shared'
import type { Probe } from './probe.ts'

/** One ffmpeg invocation and the files it writes. */
export interface FfmpegRun {
  args: string[]
  outputs: Array<{ profile: string; path: string }>
}

export interface RunPaths {
  input: string
  /** Directory the outputs are written to, as `{profile}.{ext}`. */
  outDir: string
}

/** Arguments every run starts with. */
const COMMON = ['-hide_banner', '-nostdin', '-y', '-loglevel', 'error']

/**
 * Pure: the ffmpeg runs that produce `profiles` from an input described by `probe`. No probing, no
 * file access, no clock. Every video rendition comes from one run that decodes the input once and
 * feeds each encoder through a `split` filter graph; each image profile is its own run that seeks
 * to a frame.
 */
export function buildArgs(paths: RunPaths, profiles: readonly Profile[], probe: Probe): FfmpegRun[] {
  const videos = profiles.filter((p): p is VideoProfile => p.kind === 'video')
  const images = profiles.filter((p): p is ImageProfile => p.kind === 'image')
  const runs: FfmpegRun[] = []
  if (videos.length > 0) runs.push(renditionsRun(paths, videos, probe))
  for (const image of images) runs.push(imageRun(paths, image, probe))
  return runs
}

function renditionsRun(paths: RunPaths, profiles: VideoProfile[], probe: Probe): FfmpegRun {
  const split = `[0:v:0]split=${profiles.length}${profiles.map((_, i) => `[s${i}]`).join('')}`
  const scales = profiles.map(
    // -2: width follows the aspect ratio, rounded to the even number H.264/VP9 4:2:0 need.
    (p, i) => `[s${i}]scale=-2:${p.height},format=yuv420p[v${i}]`,
  )
  const args = [...COMMON, '-i', paths.input, '-filter_complex', [split, ...scales].join(';')]
  const outputs: FfmpegRun['outputs'] = []
  profiles.forEach((profile, i) => {
    const path = `${paths.outDir}/${outputFileName(profile)}`
    args.push('-map', `[v${i}]`)
    if (probe.hasAudio) args.push('-map', '0:a:0')
    args.push(...videoCodecArgs(profile))
    args.push(...(probe.hasAudio ? audioArgs(profile) : ['-an']))
    args.push(...containerArgs(profile), path)
    outputs.push({ profile: profile.name, path })
  })
  return { args, outputs }
}

function videoCodecArgs(profile: VideoProfile): string[] {
  const rate = `${profile.videoBitrateKbps}k`
  // A keyframe every 2 seconds whatever the frame rate, so players can seek (and segment) evenly.
  const keyframes = ['-force_key_frames', 'expr:gte(t,n_forced*2)']
  if (profile.codec === 'h264') {
    return [
      '-c:v',
      'libx264',
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
    // libvpx's "good" quality mode at its fastest speed, with multi-threaded rows.
    '-deadline',
    'good',
    '-cpu-used',
    '5',
    '-row-mt',
    '1',
    ...keyframes,
  ]
}

function audioArgs(profile: VideoProfile): string[] {
  const codec = profile.container === 'webm' ? 'libopus' : 'aac'
  // Any channel layout in, stereo out: what every browser plays.
  return ['-c:a', codec, '-b:a', `${profile.audioBitrateKbps}k`, '-ac', '2']
}

function containerArgs(profile: VideoProfile): string[] {
  // faststart: the index goes before the media, so playback starts before the download ends.
  if (profile.container === 'mp4') return ['-movflags', '+faststart', '-f', 'mp4']
  return ['-f', 'webm']
}

function imageRun(paths: RunPaths, profile: ImageProfile, probe: Probe): FfmpegRun {
  const path = `${paths.outDir}/${outputFileName(profile)}`
  const { width: w, height: h } = profile
  return {
    args: [
      ...COMMON,
      // Before -i: a fast seek (to the keyframe before, then decoding up to the point).
      '-ss',
      thumbnailTime(probe.duration),
      '-i',
      paths.input,
      '-map',
      '0:v:0',
      '-frames:v',
      '1',
      // Fit inside the box keeping the aspect ratio, then letterbox to exactly w x h.
      '-vf',
      `scale=${w}:${h}:force_original_aspect_ratio=decrease,pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2`,
      '-q:v',
      '3',
      '-update',
      '1',
      '-f',
      'image2',
      path,
    ],
    outputs: [{ profile: profile.name, path }],
  }
}

/** A quarter into the video (past title cards and fade-ins), at most one minute in. */
export function thumbnailTime(duration: number | null): string {
  if (duration === null) return '0'
  return Math.min(duration * 0.25, 60).toFixed(3)
}
