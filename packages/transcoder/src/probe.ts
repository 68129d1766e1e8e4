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
  /** The demuxer that read it, when it is one of INPUT_DEMUXERS (null: anything else). */
  demuxer: Demuxer | null
  /** ffprobe's name for the container (`mov,mp4,m4a,3gp,3g2,mj2`, `hls`, ...). */
  formatName: string
  /** Streams of every kind (video, audio, subtitle, data). */
  streams: number
  /**
   * ffprobe's index of the video stream described here (the first that is not an attached
   * picture), so ffmpeg encodes that one: `0:v:0` would also match cover art.
   */
  videoIndex: number
}

/**
 * The only demuxers an input may be read with, keyed by ffprobe's format_name. Never hls, concat,
 * image2, lavfi, tty or any other that opens further files or URLs named inside the input.
 */
export const INPUT_DEMUXERS = {
  'mov,mp4,m4a,3gp,3g2,mj2': 'mov',
  'matroska,webm': 'matroska',
  avi: 'avi',
} as const
export type Demuxer = (typeof INPUT_DEMUXERS)[keyof typeof INPUT_DEMUXERS]

/** `-format_whitelist`: the demuxers probing may pick from, so the others are never even tried. */
export const FORMAT_WHITELIST = 'mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi'

/** Options that confine ffmpeg/ffprobe to reading one local file (put before the input). */
export const CONFINE = ['-protocol_whitelist', 'file']
/**
 * The mov demuxer never follows data references (`dref` atoms naming other files). Off by
 * default in ffmpeg; pinned so a build or a future default cannot turn it on. ffmpeg accepts it
 * only when the demuxer is mov (ffprobe: always).
 */
export const NO_DREFS = ['-enable_drefs', '0']

/** Limits an input is checked against before any transcoding. */
export interface InputLimits {
  maxDurationSeconds: number
  maxPixels: number
  maxStreams: number
}

interface FfprobeStream {
  index?: number
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

/**
 * The ffprobe arguments whose JSON `parseProbe` reads, for an input: only the local file, only an
 * allowed container. `file:` keeps a name from ever being read as a protocol or an option.
 */
export function probeArgs(path: string): string[] {
  return [
    '-v',
    'error',
    ...CONFINE,
    '-format_whitelist',
    FORMAT_WHITELIST,
    ...NO_DREFS,
    '-print_format',
    'json',
    '-show_format',
    '-show_streams',
    `file:${path}`,
  ]
}

/**
 * Pure: refuse an input that is not an allowed container or is over a limit, before ffmpeg
 * decodes a frame of it (a 16000x16000 frame is 384 MB; an hour-long input a slot for hours).
 */
export function checkInput(probe: Probe, limits: InputLimits): void {
  if (!probe.demuxer) {
    throw new PermanentJobError(
      'unsupported_container',
      `Input container ${probe.formatName || 'unknown'} is not accepted; use mp4, mov, avi, mkv or webm`,
    )
  }
  if (probe.streams > limits.maxStreams) {
    throw new PermanentJobError(
      'too_many_streams',
      `Input has ${probe.streams} streams; at most ${limits.maxStreams} are accepted (MAX_STREAMS)`,
    )
  }
  const pixels = probe.width * probe.height
  if (pixels > limits.maxPixels) {
    throw new PermanentJobError(
      'resolution_too_large',
      `Input is ${probe.width}x${probe.height} (${pixels} pixels); at most ${limits.maxPixels} are accepted (MAX_PIXELS)`,
    )
  }
  if (probe.duration !== null && probe.duration > limits.maxDurationSeconds) {
    throw new PermanentJobError(
      'duration_too_long',
      `Input is ${Math.round(probe.duration)}s long; at most ${limits.maxDurationSeconds}s is accepted (MAX_DURATION_SECONDS)`,
    )
  }
}

/** Pure: turn ffprobe's JSON into a Probe, or a PermanentJobError when there is no usable video. */
export function parseProbe(json: FfprobeJson): Probe {
  const streams = json.streams ?? []
  // Cover art in audio files is a "video" stream too; it is not a video.
  const videoAt = streams.findIndex((s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1)
  const video = streams[videoAt]
  if (!video) throw new PermanentJobError('no_video_stream', 'Input has no video stream')
  if (!video.width || !video.height) {
    throw new PermanentJobError('invalid_input', 'Input video stream has no frame size')
  }
  if (!video.codec_name || video.codec_name === 'none') {
    throw new PermanentJobError('unsupported_codec', 'Input video codec is not supported')
  }
  const duration = Number(json.format?.duration ?? video.duration)
  const formatName = json.format?.format_name ?? ''
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
    demuxer: INPUT_DEMUXERS[formatName as keyof typeof INPUT_DEMUXERS] ?? null,
    formatName,
    streams: streams.length,
    videoIndex: video.index ?? videoAt,
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
