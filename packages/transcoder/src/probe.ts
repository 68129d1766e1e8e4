import { PermanentJobError } from '@vpp/shared'

/** What the transcoder needs to know about an input, from ffprobe. */
export interface Probe {
  /** Display size: after the rotation metadata is applied (a portrait phone video is taller than wide). */
  width: number
  height: number
  /** Clockwise rotation in the metadata: 0, 90, 180 or 270 (ffmpeg applies it while decoding). */
  rotation: 0 | 90 | 180 | 270
  /** Seconds, or null when the container does not say. */
  duration: number | null
  videoCodec: string
  pixFmt: string
  /** Average frames per second, or null when unknown. */
  frameRate: number | null
  /** Frame timing varies (phone recordings): outputs get a constant rate. */
  variableFrameRate: boolean
  hasAudio: boolean
}

interface FfprobeStream {
  codec_type?: string
  codec_name?: string
  width?: number
  height?: number
  duration?: string
  pix_fmt?: string
  r_frame_rate?: string
  avg_frame_rate?: string
  tags?: { rotate?: string }
  side_data_list?: Array<{ side_data_type?: string; rotation?: number }>
  disposition?: { attached_pic?: number }
}

export interface FfprobeJson {
  streams?: FfprobeStream[]
  format?: { duration?: string; format_name?: string; bit_rate?: string }
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
  const rotation = rotationOf(video)
  const sideways = rotation === 90 || rotation === 270
  const average = fraction(video.avg_frame_rate)
  const nominal = fraction(video.r_frame_rate)
  return {
    width: sideways ? video.height : video.width,
    height: sideways ? video.width : video.height,
    rotation,
    duration: Number.isFinite(duration) && duration > 0 ? duration : null,
    videoCodec: video.codec_name,
    pixFmt: video.pix_fmt ?? 'unknown',
    frameRate: average ?? nominal,
    // r_frame_rate is the base rate; an average well off it means frames come irregularly.
    variableFrameRate: average !== null && nominal !== null && Math.abs(average - nominal) / nominal > 0.01,
    hasAudio: streams.some((s) => s.codec_type === 'audio'),
  }
}

/** `30000/1001` -> 29.97; null for `0/0` and the like. */
function fraction(text: string | undefined): number | null {
  const [num, den] = (text ?? '').split('/').map(Number)
  if (!num || !den || !Number.isFinite(num / den)) return null
  return num / den
}

/** Clockwise degrees from the `rotate` tag (older files) or the display matrix. */
function rotationOf(stream: FfprobeStream): Probe['rotation'] {
  const matrix = stream.side_data_list?.find((d) => d.side_data_type === 'Display Matrix')?.rotation
  const degrees = stream.tags?.rotate !== undefined ? Number(stream.tags.rotate) : -(matrix ?? 0)
  const normal = (((Math.round(degrees / 90) * 90) % 360) + 360) % 360
  return normal as Probe['rotation']
}
