/**
 * Pure: the ffmpeg runs of a chunked encode. The source's video is cut into parts by stream copy
 * (splitArgs); each chunk is encoded to every video rendition from one decode (chunkArgs); the
 * audio is encoded once, for the whole duration (audioArgs: per-chunk audio drifts and clicks at
 * the joins); each rendition is then the chunks joined with its audio by stream copy
 * (assembleArgs). No run decodes the whole source twice.
 */
import type { ImageProfile, VideoProfile } from '@vpp/shared'
import { FRAGMENTED_MP4 } from '../byte-ranges.ts'
import {
  audioSources,
  COMMON,
  clipInput,
  hlsTee,
  inputArgs,
  type Loudness,
  PROGRESS,
  thumbnailBranch,
  videoCodecArgs,
  videoHead,
  type WatermarkRun,
  watermarkInputArgs,
} from '../ffmpeg-args/index.ts'
import type { Probe } from '../probe.ts'
import type { Chunk, ChunkPlan, Part } from './plan.ts'

/** Less than any frame's length: a cut time printed to the microsecond may not pass its keyframe. */
const CUT_EARLY_S = 0.0005
/** How full x264's buffer starts in every chunk but the first (chunkArgs). */
const LATER_VBV_INIT = 0.5

/** The filters ffmpeg's autorotate inserts for a clockwise rotation of the display matrix. */
const ROTATE: Record<Probe['rotation'], string> = {
  0: '',
  90: 'transpose=clock,',
  180: 'hflip,vflip,',
  270: 'transpose=cclock,',
}

/** `12.5` -> `12.500000`: what ffmpeg reads back exactly. */
const seconds = (t: number) => t.toFixed(6)

/**
 * The container the audio part is copied into: MOV for the codecs it holds with their encoder
 * delay (an edit list: AAC's 1024 priming samples stay skipped), Matroska for the rest (which
 * would keep AAC's priming as sound: audio 21 ms late and long).
 */
export function audioPartFormat(probe: Pick<Probe, 'audioCodec'>): 'mov' | 'matroska' {
  return ['aac', 'mp3', 'alac', 'pcm_s16le', 'pcm_s24le'].includes(probe.audioCodec ?? '')
    ? 'mov'
    : 'matroska'
}

/**
 * The source's video stream cut into the plan's parts by stream copy, at its own keyframes (the
 * segment muxer cuts at the first keyframe at or after each time): Matroska files named by
 * `partPattern` (`part-%05d.mkv`, from 0), each with timestamps from zero; and, with `audioPart`,
 * its audio stream whole in a file of its own (audioPartFormat). One read, nothing decoded.
 * With a clip, the source is read to a second past its end only (stream copy stops by decode
 * order: every frame before the end keeps the frames it is decoded from), and a first part that
 * starts past 0 makes the split's part 0 the stretch before it, which is not kept.
 */
export function splitArgs(
  input: string,
  probe: Probe,
  plan: ChunkPlan,
  partPattern: string,
  audioPart?: string,
): string[] {
  const cuts = plan.parts
    .filter((part) => part.start > 0)
    .map((part) => seconds(Math.max(0, part.start - CUT_EARLY_S)))
  return [
    ...COMMON,
    ...inputArgs(input, probe, { threads: 0, ...(plan.clip ? { maxDurationSeconds: plan.clip.end } : {}) }),
    // biome-ignore format: flag and value on one line
    '-map',
    `0:${probe.videoIndex}`,
    '-c',
    'copy',
    // biome-ignore format: flag and value on one line
    '-f',
    'segment',
    '-segment_format',
    'matroska',
    '-reset_timestamps',
    '1',
    ...(cuts.length > 0 ? ['-segment_times', cuts.join(',')] : []),
    partPattern,
    ...(audioPart ? ['-map', '0:a:0', '-c', 'copy', '-f', audioPartFormat(probe), audioPart] : []),
  ]
}

/** One rendition a chunk run writes: the video alone, to be joined with the others' and the audio. */
export interface ChunkOutput {
  profile: VideoProfile
  path: string
  /**
   * Its HLS rung too (H.264): fMP4 segments `{dir}/{name}-%03d.m4s`, their init `{name}-init.mp4`
   * and playlist `{name}.m3u8`, named for the chunk and the attempt so that no two attempts
   * ever write the same file.
   */
  hls?: { dir: string; name: string; segmentSeconds: number }
}

/** The storyboard tiles a chunk makes: those of its stretch of the video, numbered as in the whole. */
export interface ChunkTiles {
  /** The storyboard's seconds between tiles. */
  interval: number
  width: number
  height: number
  /** `storyboard-tile-%05d.jpg`: tile k of the whole video is file k + 1. */
  pattern: string
}

/** The thumbnail, when the chunk holds the point it is picked from (a quarter in, at most 60 s). */
export interface ChunkThumbnail {
  profile: ImageProfile
  /** Seconds of the whole video where the pick starts (thumbnailTime). */
  at: number
  path: string
}

export interface ChunkRunOptions {
  threads: number
  /** A constant output rate (outputFps) for variable or too high ones; null: the source's. */
  fps: string | null
  tiles?: ChunkTiles
  thumbnail?: ChunkThumbnail
  /**
   * The last chunk: read to the end of its part, whatever the plan says the end is (a header
   * that claims less than the file holds must not cut the video short).
   */
  toEnd?: boolean
  /** The job's watermark, laid over the chunk after its rotation and frame rate (videoHead). */
  watermark?: WatermarkRun
}

/**
 * Pure: the tiles of `[start, end)` on a storyboard grid of `interval` seconds: tile k (at
 * k x interval) is in the chunk when start <= k x interval < end. `first` is k of the first
 * one, `offset` how far into the chunk it is.
 */
export function chunkTiles(chunk: Pick<Chunk, 'start' | 'end'>, interval: number) {
  const first = Math.max(0, Math.ceil(chunk.start / interval - 1e-9))
  const count = Math.max(0, Math.ceil(chunk.end / interval - 1e-9) - first)
  return { first, count, offset: first * interval - chunk.start }
}

/**
 * One chunk encoded to every rendition from one decode: the part it reads, from `seek` for the
 * chunk's length, split to each rendition's scale and encoder (capped CRF, a keyframe every 2 s
 * from the chunk's start), video only; its storyboard tiles, and the thumbnail when the pick
 * starts in it. `-stats_period 0.5` and no branch that begins late: ffmpeg reports from the first
 * second.
 */
export function chunkArgs(
  part: { path: string; part: Part },
  chunk: Chunk,
  probe: Probe,
  outputs: readonly ChunkOutput[],
  options: ChunkRunOptions,
): string[] {
  const portrait = probe.height > probe.width
  const branches = outputs.map(({ profile }, i) => `${scale(profile, portrait)},format=yuv420p[v${i}]`)
  const extra: string[] = []
  const tiles = options.tiles && chunkTiles(chunk, options.tiles.interval)
  if (options.tiles && tiles && tiles.count > 0) {
    const { interval, width, height, pattern } = options.tiles
    // From the chunk's first tile on the whole video's grid, one every interval: the frame
    // nearest each tile's time, as the single run's fps filter picks it.
    branches.push(`trim=start=${seconds(tiles.offset)},fps=1/${interval},scale=${width}:${height}[board]`)
    // biome-ignore format: flag and value on one line
    extra.push('-map', '[board]', '-frames:v', String(tiles.count), '-q:v', '2', '-start_number', String(tiles.first + 1), '-f', 'image2', pattern)
  }
  const thumb = options.thumbnail
  if (thumb && thumb.at >= chunk.start && thumb.at < chunk.end) {
    branches.push(`${thumbnailBranch(thumb.profile, probe, seconds(thumb.at - chunk.start))}[thumb]`)
    // biome-ignore format: flag and value on one line
    extra.push('-map', '[thumb]', '-frames:v', '2', '-q:v', '3', '-update', '1', '-f', 'image2', thumb.path)
  }
  // The parts are Matroska, which keeps no rotation: turned here as ffmpeg's autorotate would.
  const turn = ROTATE[probe.rotation]
  const filters = `${turn}${options.fps ? `fps=${options.fps},` : ''}`
  const head = videoHead('0:v:0', filters, branches.length, probe, options.watermark?.placement)
  const args = [
    ...COMMON,
    ...PROGRESS,
    // Our own part file: Matroska, nothing else to confine it from.
    // biome-ignore format: flag and value on one line
    '-protocol_whitelist',
    'file',
    '-f',
    'matroska',
    // The rotation is ours to apply (ROTATE), whatever a later muxer keeps of it.
    '-noautorotate',
    ...(chunk.seek > 0 ? ['-ss', seconds(chunk.seek)] : []),
    ...(options.toEnd ? [] : ['-t', seconds(chunk.end - chunk.start)]),
    '-i',
    `file:${part.path}`,
    ...(options.watermark ? watermarkInputArgs(options.watermark.path) : []),
    '-filter_complex',
    [head, ...branches.map((branch, i) => `[s${i}]${branch}`)].join(';'),
  ]
  outputs.forEach(({ profile, path, hls }, i) => {
    args.push('-map', `[v${i}]`, ...videoCodecArgs(profile))
    // x264 starts its 2 s buffer 90 % full: a run may spend that much over the cap at its start.
    // One run does once; every chunk after the first would again, and hard content would come out
    // at 1.2x the cap. Half full from the second chunk on: 1.04-1.07x, as one run's 1.03x, with no
    // dip at the joins (measured: docs/transcoding.md, "Chunked encoding").
    if (chunk.index > 0 && profile.codec === 'h264') args.push('-x264-params', `vbv-init=${LATER_VBV_INIT}`)
    if (options.threads > 0) args.push('-threads', String(options.threads))
    args.push(
      '-an',
      ...(hls ? teeArgs(path, hls) : ['-f', profile.container === 'mp4' ? 'mp4' : 'webm', path]),
    )
  })
  return [...args, ...extra]
}

/** The rendition's chunk file and its HLS segments from one encoder (`tee`). */
function teeArgs(path: string, hls: NonNullable<AudioOutput['hls']>): string[] {
  return hlsTee('f=mp4', path, {
    live: hls.live,
    segmentSeconds: hls.segmentSeconds,
    init: `${hls.name}-init.mp4`,
    segments: `${hls.dir}/${hls.name}-%03d.m4s`,
    playlist: `${hls.dir}/${hls.name}.m3u8`,
  })
}

function scale(profile: VideoProfile, portrait: boolean): string {
  return portrait ? `scale=${profile.height}:-2` : `scale=-2:${profile.height}`
}

/** One audio encode: what a set of renditions shares. */
export interface AudioOutput {
  codec: 'aac' | 'opus'
  kbps: number
  path: string
  /** The HLS audio rendition too, from the same encoder (AAC): fMP4 segments as ChunkOutput's. */
  hls?: { dir: string; name: string; segmentSeconds: number; live?: boolean }
}

/**
 * The audio, once, for the whole duration, from the audio part (splitArgs): one encoder per codec
 * and bitrate the renditions use (AAC in MP4 for MP4 and HLS, Opus in WebM), stereo, from one
 * decode. `-progress` as the chunk runs report it. With a clip, its stretch of the part only
 * (`-ss`/`-t` on the input, sample-accurate), from 0 as its first chunk's video is.
 */
export function audioArgs(
  audioPart: string,
  outputs: readonly AudioOutput[],
  format: 'mov' | 'matroska',
  clip?: ChunkPlan['clip'],
  loudness?: Loudness | null,
): string[] {
  // biome-ignore format: flag and value on one line
  const args = [
    ...COMMON,
    '-progress', 'pipe:1', '-stats_period', '0.5',
    ...clipInput(clip),
    ...audioPartInput(audioPart, format),
  ]
  // normalize_audio: every encoder reads the audio normalised with the item's measurement.
  const sources = audioSources('0:a:0', outputs.length, loudness)
  if (sources.graph) args.push('-filter_complex', sources.graph)
  for (const [i, { codec, kbps, path, hls }] of outputs.entries()) {
    // biome-ignore format: flag and value on one line
    args.push('-map', sources.maps[i] ?? '0:a:0', '-vn', '-c:a', codec === 'aac' ? 'aac' : 'libopus', '-b:a', `${kbps}k`, '-ac', '2')
    if (hls) args.push(...teeArgs(path, hls))
    else args.push('-f', codec === 'aac' ? 'mp4' : 'webm', path)
  }
  return args
}

/** The audio part as an input: our own file, in the container splitArgs chose, nothing else to confine it from. */
export function audioPartInput(audioPart: string, format: 'mov' | 'matroska'): string[] {
  return ['-protocol_whitelist', 'file', '-f', format, '-i', `file:${audioPart}`]
}

/** The concat demuxer's list of a rendition's chunk files, in order. */
export function concatList(paths: readonly string[]): string {
  return `ffconcat version 1.0\n${paths.map((path) => `file '${path.replaceAll("'", "'\\''")}'\n`).join('')}`
}

/**
 * A rendition from its chunks (listed in `list`, see concatList) and its audio, by stream copy:
 * MP4 with its index first (faststart), or WebM. A rung of the HLS stream (`hlsRung`) is a
 * fragmented MP4 instead, whose byte ranges its playlist names (finishHls).
 */
export function assembleArgs(
  list: string,
  audio: string | null,
  container: VideoProfile['container'],
  path: string,
  hlsRung = false,
): string[] {
  const mp4 = hlsRung ? FRAGMENTED_MP4 : ['-movflags', '+faststart', '-f', 'mp4']
  return [
    ...COMMON,
    // Our own list of our own files (absolute paths: -safe 0), read by the concat demuxer only.
    // biome-ignore format: flag and value on one line
    '-protocol_whitelist',
    'file',
    '-f',
    'concat',
    '-safe',
    '0',
    '-i',
    `file:${list}`,
    ...(audio ? ['-protocol_whitelist', 'file', '-i', `file:${audio}`] : []),
    // biome-ignore format: flag and value on one line
    '-map',
    '0:v:0',
    ...(audio ? ['-map', '1:a:0'] : []),
    '-c',
    'copy',
    ...(container === 'mp4' ? mp4 : ['-f', 'webm']),
    path,
  ]
}
