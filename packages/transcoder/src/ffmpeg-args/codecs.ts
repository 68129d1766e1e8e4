/** Pure: the encoder arguments of a rendition (video, audio, container), and the encoders they need. */
import type { Profile, VideoProfile } from '@vpp/shared'

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
    else if (profile.kind === 'audio') needed.add('aac')
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

/** A rendition's audio encoder. */
export function audioCodecArgs(profile: VideoProfile): string[] {
  // Any channel layout in (mono, 5.1, ...), stereo out: what every browser plays.
  return ['-c:a', audioEncoder(profile), '-b:a', `${profile.audioBitrateKbps}k`, '-ac', '2']
}

/** A rendition's muxer (an HLS rung's is FRAGMENTED_MP4 instead). */
export function containerArgs(profile: VideoProfile): string[] {
  // faststart: the index goes before the media, so playback starts before the download ends.
  if (profile.container === 'mp4') return ['-movflags', '+faststart', '-f', 'mp4']
  return ['-f', 'webm']
}
