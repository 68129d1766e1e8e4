/**
 * The transcoding profiles, as plain data. Adding a rendition is one entry here
 * (the seed's "Adding New Profiles"); the transcoder derives its ffmpeg arguments from it.
 */
export type VideoCodec = 'h264' | 'vp9'

export interface VideoProfile {
  readonly name: string
  readonly kind: 'video'
  readonly codec: VideoCodec
  readonly width: number
  readonly height: number
  readonly videoBitrateKbps: number
  readonly audioBitrateKbps: number
  readonly container: 'mp4' | 'webm'
}

export interface ImageProfile {
  readonly name: string
  readonly kind: 'image'
  readonly codec: 'jpeg'
  readonly width: number
  readonly height: number
  readonly container: 'jpg'
}

/** The H.264 renditions of the job, packaged as one adaptive HLS presentation (no second encode). */
export interface HlsProfile {
  readonly name: string
  readonly kind: 'hls'
  readonly container: 'm3u8'
}

/** Seek previews: sprite sheets of small frames and a WebVTT file pointing into them. */
export interface StoryboardProfile {
  readonly name: string
  readonly kind: 'storyboard'
  /** Width of one tile; the height follows the video's aspect ratio. */
  readonly tileWidth: number
  /** Tiles a sheet holds at most (columns x rows). */
  readonly columns: number
  readonly rows: number
  readonly container: 'vtt'
}

/**
 * The audio alone: AAC in an M4A file (and, with `hls`, an audio-only variant of the stream).
 * Made only for a job whose `profiles` names it (`onRequest`), as Mux and Cloudflare Stream make
 * their M4A only when asked: most jobs do not want it.
 */
export interface AudioProfile {
  readonly name: string
  readonly kind: 'audio'
  readonly codec: 'aac'
  readonly audioBitrateKbps: number
  readonly container: 'm4a'
  /** Left out of the jobs that give no `profiles` list of their own. */
  readonly onRequest: true
}

export type Profile = VideoProfile | ImageProfile | HlsProfile | StoryboardProfile | AudioProfile

/**
 * The seed's table: 720p, 480p, 360p (H.264), thumbnail (JPEG), webm_720p (VP9), with 1440p and
 * 1080p above it (made only from sources at least that tall: no two adjacent rungs are more than
 * 2.25x apart in pixels up to 4K); then the HLS ladder of the H.264 renditions and the storyboard.
 * Each bitrate is a ceiling: renditions are encoded at constant quality under it (capped CRF).
 */
export const PROFILES: readonly Profile[] = [
  {
    name: '1440p',
    kind: 'video',
    codec: 'h264',
    width: 2560,
    height: 1440,
    videoBitrateKbps: 8000,
    audioBitrateKbps: 128,
    container: 'mp4',
  },
  {
    name: '1080p',
    kind: 'video',
    codec: 'h264',
    width: 1920,
    height: 1080,
    videoBitrateKbps: 5000,
    audioBitrateKbps: 128,
    container: 'mp4',
  },
  {
    name: '720p',
    kind: 'video',
    codec: 'h264',
    width: 1280,
    height: 720,
    videoBitrateKbps: 2500,
    audioBitrateKbps: 128,
    container: 'mp4',
  },
  {
    name: '480p',
    kind: 'video',
    codec: 'h264',
    width: 854,
    height: 480,
    videoBitrateKbps: 1500,
    audioBitrateKbps: 128,
    container: 'mp4',
  },
  {
    name: '360p',
    kind: 'video',
    codec: 'h264',
    width: 640,
    height: 360,
    videoBitrateKbps: 800,
    audioBitrateKbps: 96,
    container: 'mp4',
  },
  { name: 'thumbnail', kind: 'image', codec: 'jpeg', width: 320, height: 180, container: 'jpg' },
  {
    name: 'webm_720p',
    kind: 'video',
    codec: 'vp9',
    width: 1280,
    height: 720,
    videoBitrateKbps: 2000,
    audioBitrateKbps: 96,
    container: 'webm',
  },
  { name: 'hls', kind: 'hls', container: 'm3u8' },
  { name: 'storyboard', kind: 'storyboard', tileWidth: 160, columns: 10, rows: 10, container: 'vtt' },
  { name: 'audio', kind: 'audio', codec: 'aac', audioBitrateKbps: 128, container: 'm4a', onRequest: true },
]

/** The profiles a job that gives no `profiles` list of its own gets: all but those made on request. */
export const madeByDefault = (profiles: readonly Profile[]): Profile[] =>
  profiles.filter((p) => !(p.kind === 'audio' && p.onRequest))

/**
 * The renditions at the source's own size, by codec: made by default when no rung is within 10 %
 * of the source, or when a job's `profiles` names them.
 */
export const SOURCE_SIZE_NAMES = { h264: 'original', vp9: 'webm_original' } as const

/**
 * What per-job `profiles` may list: every profile's name in the table's order, then the
 * renditions at the source's own size.
 */
export const PROFILE_NAMES: readonly string[] = [
  ...PROFILES.map((p) => p.name),
  ...Object.values(SOURCE_SIZE_NAMES),
]

/** File name of a profile's output inside the job's output directory, e.g. `720p.mp4`. */
export function outputFileName(profile: Profile): string {
  // The HLS presentation is a folder: its master playlist is what the job points at.
  if (profile.kind === 'hls') return `${profile.name}/master.m3u8`
  return `${profile.name}.${profile.container}`
}
