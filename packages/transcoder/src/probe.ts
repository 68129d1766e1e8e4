import { PermanentJobError } from '@vpp/shared'

/** What the transcoder needs to know about an input, from ffprobe. */
export interface Probe {
  width: number
  height: number
  /** Seconds, or null when the container does not say. */
  duration: number | null
  videoCodec: string
  hasAudio: boolean
}

interface FfprobeStream {
  codec_type?: string
  codec_name?: string
  width?: number
  height?: number
  duration?: string
  disposition?: { attached_pic?: number }
}

export interface FfprobeJson {
  streams?: FfprobeStream[]
  format?: { duration?: string; format_name?: string }
}

/** The ffprobe arguments whose JSON `parseProbe` reads. */
export function probeArgs(path: string): string[] {
  return ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', path]
}

/** Pure: turn ffprobe's JSON into a Probe, or a PermanentJobError when there is no usable video. */
export function parseProbe(json: FfprobeJson): Probe {
  const streams = json.streams ?? []
  // Cover art in audio files is a "video" stream too; it is not a video.
  const video = streams.find((s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1)
  if (!video) throw new PermanentJobError('no_video_stream', 'Input has no video stream')
  if (!video.width || !video.height) {
    throw new PermanentJobError('invalid_input', 'Input video stream has no frame size')
  }
  if (!video.codec_name || video.codec_name === 'none') {
    throw new PermanentJobError('unsupported_codec', 'Input video codec is not supported')
  }
  const duration = Number(json.format?.duration ?? video.duration)
  return {
    width: video.width,
    height: video.height,
    duration: Number.isFinite(duration) && duration > 0 ? duration : null,
    videoCodec: video.codec_name,
    hasAudio: streams.some((s) => s.codec_type === 'audio'),
  }
}
