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

export type Profile = VideoProfile | ImageProfile

/** The seed's table: 720p, 480p, 360p (H.264), thumbnail (JPEG), webm_720p (VP9). */
export const PROFILES: readonly Profile[] = [
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
]

/** File name of a profile's output inside the job's output directory, e.g. `720p.mp4`. */
export function outputFileName(profile: Profile): string {
  return `${profile.name}.${profile.container}`
}
