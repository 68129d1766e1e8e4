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
  /**
   * Seconds from the file's start to the video's first frame, when not 0 (audio that starts
   * first, B-frame delay): where the frames of a constant rate fall (a clip's cuts, onFrames).
   */
  videoStart?: number
  /** Frame timing varies (phone recordings): outputs get a constant rate. */
  variableFrameRate: boolean
  hasAudio: boolean
  /** The first audio stream's codec, as ffprobe names it (`aac`), when there is one. */
  audioCodec?: string
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
  start_time?: string
  pix_fmt?: string
  r_frame_rate?: string
  avg_frame_rate?: string
  tags?: { rotate?: string }
  side_data_list?: Array<{ side_data_type?: string; rotation?: number }>
  disposition?: { attached_pic?: number }
}

export interface FfprobeJson {
  streams?: FfprobeStream[]
  format?: {
    duration?: string
    format_name?: string
    bit_rate?: string
    nb_streams?: number
    start_time?: string
  }
}

/**
 * How much of an input ffprobe reads to describe it (`-probesize`, bytes) and how far into it
 * (`-analyzeduration`, microseconds): ffmpeg's own defaults, pinned, so a build or a future
 * default cannot make probing read (and hold) more.
 */
export const PROBE_SIZE = 5_000_000
export const ANALYZE_DURATION_US = 5_000_000

/** Options every ffprobe of an input starts with: only the local file, only an allowed container. */
const PROBE_INPUT = ['-v', 'error', ...CONFINE, '-format_whitelist', FORMAT_WHITELIST, ...NO_DREFS]

/**
 * ffprobe's first look at an input: the container's own list of streams and the frame sizes its
 * headers claim, read without decoding a frame (`-nofind_stream_info`): a few MB of memory
 * whatever the file holds. `checkFirstLook` judges it before the full probe decodes anything.
 */
export function firstLookArgs(path: string): string[] {
  return [
    ...PROBE_INPUT,
    '-nofind_stream_info',
    '-print_format',
    'json',
    '-show_entries',
    'format=nb_streams,format_name:stream=index,codec_type,width,height',
    `file:${path}`,
  ]
}

/**
 * The ffprobe arguments whose JSON `parseProbe` reads, for an input: only the local file, only an
 * allowed container, reading at most PROBE_SIZE bytes and ANALYZE_DURATION_US of it, and
 * decoding no frame over `maxPixels` (a decoder asked for a 16000x16000 frame refuses it instead
 * of allocating 384 MB). `file:` keeps a name from ever being read as a protocol or an option.
 */
export function probeArgs(path: string, maxPixels: number): string[] {
  return [
    ...PROBE_INPUT,
    // biome-ignore format: flag and value on one line
    '-probesize',
    String(PROBE_SIZE),
    '-analyzeduration',
    String(ANALYZE_DURATION_US),
    '-max_pixels',
    String(maxPixels),
    '-print_format',
    'json',
    '-show_format',
    '-show_streams',
    `file:${path}`,
  ]
}

/** ffprobe arguments that print a file's duration in seconds, alone on a line (one of ours: any demuxer). */
export function writtenDurationArgs(path: string): string[] {
  // biome-ignore format: flag and value on one line
  return ['-v', 'error', ...CONFINE, '-show_entries', 'format=duration', '-of', 'csv=p=0', `file:${path}`]
}

/**
 * Pure: refuse, from the first look (no frame decoded), an input with more streams than
 * MAX_STREAMS or a stream whose headers claim more pixels than MAX_PIXELS. Memory of the full
 * probe grows with both (each stream's decoder holds frames of its size), so they are checked
 * before it. What the headers do not say (a container that hides its sizes) the full probe
 * checks again, under `-max_pixels`.
 */
export function checkFirstLook(json: FfprobeJson, limits: Omit<InputLimits, 'maxDurationSeconds'>): void {
  const streams = json.streams ?? []
  checkStreams(Math.max(streams.length, Number(json.format?.nb_streams) || 0), limits.maxStreams)
  for (const stream of streams) {
    if (stream.codec_type === 'video') checkPixels(stream.width ?? 0, stream.height ?? 0, limits.maxPixels)
  }
}

function checkStreams(count: number, maxStreams: number): void {
  if (count <= maxStreams) return
  throw new PermanentJobError(
    'too_many_streams',
    `Input has ${count} streams; at most ${maxStreams} are accepted (MAX_STREAMS)`,
  )
}

function checkPixels(width: number, height: number, maxPixels: number): void {
  const pixels = width * height
  if (pixels <= maxPixels) return
  throw new PermanentJobError(
    'resolution_too_large',
    `Input is ${width}x${height} (${pixels} pixels); at most ${maxPixels} are accepted (MAX_PIXELS)`,
  )
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
  checkStreams(probe.streams, limits.maxStreams)
  checkPixels(probe.width, probe.height, limits.maxPixels)
  if (probe.duration !== null && probe.duration > limits.maxDurationSeconds) {
    throw new PermanentJobError(
      'duration_too_long',
      `Input is ${Math.round(probe.duration)}s long; ${atMost(limits.maxDurationSeconds)}`,
    )
  }
}

const atMost = (seconds: number) => `at most ${seconds}s is accepted (MAX_DURATION_SECONDS)`

/**
 * The error of an input that the run found longer than MAX_DURATION_SECONDS though its container
 * claimed less (ffmpeg reads at most a second past the limit: see `inputArgs`).
 */
export function longerThanClaimed(claimed: number | null, maxDurationSeconds: number): PermanentJobError {
  const says = claimed === null ? 'does not say its length' : `says ${Math.round(claimed)}s`
  return new PermanentJobError(
    'duration_too_long',
    `Input runs past ${maxDurationSeconds}s, though its container ${says}; ${atMost(maxDurationSeconds)}`,
  )
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
  const videoStart = Number(video.start_time) - Number(json.format?.start_time ?? 0)
  return {
    width: sideways ? video.height : video.width,
    height: sideways ? video.width : video.height,
    rotation,
    duration: Number.isFinite(duration) && duration > 0 ? duration : null,
    videoCodec: video.codec_name,
    pixFmt: video.pix_fmt ?? 'unknown',
    frameRate: average ?? nominal,
    ...(Number.isFinite(videoStart) && videoStart > 0
      ? { videoStart: Math.round(videoStart * 1e6) / 1e6 }
      : {}),
    // r_frame_rate is the base rate; an average well off it means frames come irregularly.
    variableFrameRate: average !== null && nominal !== null && Math.abs(average - nominal) / nominal > 0.01,
    hasAudio: streams.some((s) => s.codec_type === 'audio'),
    audioCodec: streams.find((s) => s.codec_type === 'audio')?.codec_name,
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
