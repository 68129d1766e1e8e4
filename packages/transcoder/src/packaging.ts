import { rename, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Output } from '@vpp/shared'
import { fragmentIndex, rangeSegments, readHead } from './byte-ranges.ts'
import { mediaPlaylist } from './chunks/playlist.ts'
import type { HlsPlan, StoryboardPlan } from './ffmpeg-args/index.ts'

/** A file to publish under the job's folder, besides the outputs themselves. */
export interface ExtraFile {
  name: string
  path: string
}

export interface Variant {
  /** Relative to the master playlist. */
  playlist: string
  /** Peak bits per second over one segment. */
  bandwidth: number
  averageBandwidth: number
  width: number
  height: number
  frameRate: number | null
  codecs: string
}

/** The audio-only variant of a master playlist (the `audio` profile's M4A). */
export interface AudioOnlyVariant {
  playlist: string
  bandwidth: number
  averageBandwidth: number
}

/**
 * Pure: the master playlist of an HLS presentation. Version 7 (fMP4 segments), independent
 * segments (each starts with a keyframe), one EXT-X-STREAM-INF per rung, relative URIs only;
 * with `audio`, the audio is a rendition of its own that every rung plays.
 */
export function masterPlaylist(
  variants: readonly Variant[],
  audio?: { playlist: string },
  audioOnly?: AudioOnlyVariant,
): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:7', '#EXT-X-INDEPENDENT-SEGMENTS']
  // The audio as a rendition of its own (the chunked engine encodes it once, apart from the video).
  if (audio)
    lines.push(
      `#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="audio",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="${audio.playlist}"`,
    )
  for (const v of variants) {
    const attributes = [
      `BANDWIDTH=${v.bandwidth}`,
      `AVERAGE-BANDWIDTH=${v.averageBandwidth}`,
      `RESOLUTION=${v.width}x${v.height}`,
      ...(v.frameRate ? [`FRAME-RATE=${v.frameRate.toFixed(3)}`] : []),
      `CODECS="${v.codecs}"`,
      ...(audio ? ['AUDIO="audio"'] : []),
    ]
    lines.push(`#EXT-X-STREAM-INF:${attributes.join(',')}`, v.playlist)
  }
  // The audio alone, last (a player starts on the first variant): what Safari and AVPlayer fall
  // back to on a very slow link. hls.js leaves audio-only levels out when there are video ones.
  if (audioOnly) {
    const attributes = [
      `BANDWIDTH=${audioOnly.bandwidth}`,
      `AVERAGE-BANDWIDTH=${audioOnly.averageBandwidth}`,
      'CODECS="mp4a.40.2"',
      ...(audio ? ['AUDIO="audio"'] : []),
    ]
    lines.push(`#EXT-X-STREAM-INF:${attributes.join(',')}`, audioOnly.playlist)
  }
  return `${lines.join('\n')}\n`
}

/**
 * Pure: the RFC 6381 codec of an H.264 stream from its init segment's `avcC` box: profile,
 * constraint flags and level as the encoder wrote them (`avc1.64001f` is High at level 3.1).
 * A wrong string makes Safari and hls.js skip the variant silently, so it is read, never guessed.
 */
export function avcCodec(init: Uint8Array): string {
  const at = Buffer.from(init.buffer, init.byteOffset, init.byteLength).indexOf('avcC')
  if (at < 0 || at + 8 > init.length) throw new Error('init segment has no avcC box')
  const hex = (byte: number | undefined) => (byte ?? 0).toString(16).padStart(2, '0')
  return `avc1.${hex(init[at + 5])}${hex(init[at + 6])}${hex(init[at + 7])}`
}

/** Pure: the segments of a media playlist, with their durations (EXTINF), in order. */
export function playlistSegments(playlist: string): Array<{ uri: string; seconds: number }> {
  const segments: Array<{ uri: string; seconds: number }> = []
  let seconds: number | null = null
  for (const line of playlist.split('\n').map((l) => l.trim())) {
    if (line.startsWith('#EXTINF:')) seconds = Number.parseFloat(line.slice(8))
    else if (line !== '' && !line.startsWith('#') && seconds !== null) {
      segments.push({ uri: line, seconds })
      seconds = null
    }
  }
  return segments
}

/** Pure: peak (one segment) and average bits per second, from segment sizes and durations. */
export function bandwidths(segments: ReadonlyArray<{ bytes: number; seconds: number }>) {
  let peak = 0
  let bytes = 0
  let seconds = 0
  for (const s of segments) {
    if (s.seconds > 0) peak = Math.max(peak, (s.bytes * 8) / s.seconds)
    bytes += s.bytes
    seconds += s.seconds
  }
  return { peak: Math.ceil(peak), average: seconds > 0 ? Math.ceil((bytes * 8) / seconds) : 0 }
}

/**
 * Pure: the storyboard's WebVTT: one cue a tile, back to back from 0 to the duration (the last
 * ends at it), each pointing at its tile with a media fragment `sheet#xywh=x,y,w,h`.
 */
export function storyboardVtt(
  plan: StoryboardPlan,
  duration: number,
  sheetName: (sheet: number) => string,
): string {
  const perSheet = plan.columns * plan.rows
  const lines = ['WEBVTT', '']
  for (let i = 0; i < plan.tiles; i++) {
    const start = i * plan.interval
    const end = i === plan.tiles - 1 ? duration : Math.min(duration, (i + 1) * plan.interval)
    const slot = i % perSheet
    const x = (slot % plan.columns) * plan.tileWidth
    const y = Math.floor(slot / plan.columns) * plan.tileHeight
    lines.push(
      `${vttTime(start)} --> ${vttTime(end)}`,
      `${sheetName(Math.floor(i / perSheet) + 1)}#xywh=${x},${y},${plan.tileWidth},${plan.tileHeight}`,
      '',
    )
  }
  return lines.join('\n')
}

/** `HH:MM:SS.mmm`. */
export function vttTime(seconds: number): string {
  const ms = Math.round(seconds * 1000)
  const pad = (n: number, width = 2) => String(n).padStart(width, '0')
  return `${pad(Math.floor(ms / 3600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}.${pad(ms % 1000, 3)}`
}

/** The first sheet is `storyboard.jpg`, the next `storyboard-2.jpg`, ... */
export const sheetName = (profile: string) => (sheet: number) =>
  sheet === 1 ? `${profile}.jpg` : `${profile}-${sheet}.jpg`

/**
 * After the encode: each rung's playlist, byte ranges of its fragmented MP4 (`../{rung}.mp4`, as
 * its front `sidx` lists the fragments) in segments of about `segmentSeconds`, and the master
 * written from what the rungs really hold (segment sizes, the encoder's avcC), and the `hls`
 * output entry. `renditions`: the described MP4s by profile. The stream stores nothing but its
 * playlists: the MP4s are its segments. With the `audio` profile, its M4A is an audio-only
 * variant the same way (`audio.m3u8`), last in the master.
 */
export async function finishHls(
  plan: HlsPlan,
  renditions: ReadonlyMap<string, Omit<Output, 'path'>>,
  hasAudio: boolean,
  frameRate: number | null,
  segmentSeconds: number,
): Promise<{ output: Omit<Output, 'path'>; files: ExtraFile[] }> {
  const files: ExtraFile[] = []
  const variants: Variant[] = []
  let bytes = 0
  for (const rung of plan.variants) {
    const described = renditions.get(rung.profile)
    if (!described) throw new Error(`HLS rung ${rung.profile} has no rendition`)
    const ranges = await rangePlaylist(plan, `${rung.profile}.mp4`, rung.playlist, segmentSeconds)
    files.push({ name: `${plan.profile}/${rung.playlist}`, path: ranges.path })
    bytes += ranges.bytes
    variants.push({
      playlist: rung.playlist,
      bandwidth: ranges.peak,
      averageBandwidth: ranges.average,
      width: described.width ?? 0,
      height: described.height ?? 0,
      frameRate,
      codecs: [avcCodec(ranges.head), ...(hasAudio ? ['mp4a.40.2'] : [])].join(','),
    })
  }
  // The audio alone (`audio`): byte ranges of its fragmented M4A, an audio-only variant.
  let audioOnly: AudioOnlyVariant | undefined
  if (plan.audio) {
    const { playlist, profile } = plan.audio
    const ranges = await rangePlaylist(plan, `${profile}.m4a`, playlist, segmentSeconds)
    files.push({ name: `${plan.profile}/${playlist}`, path: ranges.path })
    bytes += ranges.bytes
    audioOnly = { playlist, bandwidth: ranges.peak, averageBandwidth: ranges.average }
  }
  const master = masterPlaylist(variants, undefined, audioOnly)
  await writeFile(join(plan.dir, 'master.m3u8'), master)
  const top = variants.reduce((a, b) => (b.height > a.height ? b : a))
  const first = renditions.get(plan.variants[0]?.profile ?? '')
  return {
    output: {
      profile: plan.profile,
      width: top.width,
      height: top.height,
      duration: first?.duration ?? null,
      size_bytes: bytes + Buffer.byteLength(master),
      bitrate: top.averageBandwidth,
      codec: 'hls',
      variants: plan.variants.map((rung, i) => ({
        profile: rung.profile,
        width: variants[i]?.width ?? 0,
        height: variants[i]?.height ?? 0,
        bandwidth: variants[i]?.bandwidth ?? 0,
      })),
    },
    files,
  }
}

/**
 * A VOD playlist of byte ranges of `file` (next to the HLS folder, a fragmented MP4 with a front
 * `sidx`), written as `playlist` in the folder: its init, segments of about `segmentSeconds`.
 */
async function rangePlaylist(plan: HlsPlan, file: string, playlist: string, segmentSeconds: number) {
  const head = await readHead(join(plan.dir, '..', file))
  const index = fragmentIndex(head)
  const segments = rangeSegments(index.fragments, segmentSeconds)
  if (segments.length === 0) throw new Error(`HLS ${file} has no fragments`)
  const uri = `../${file}`
  const text = mediaPlaylist({
    init: uri,
    initRange: index.init,
    segments: segments.map(({ seconds, ...range }) => ({ uri, seconds, range })),
    ended: true,
    maxSegmentSeconds: segmentSeconds,
  })
  const path = join(plan.dir, playlist)
  await writeFile(path, text)
  const { peak, average } = bandwidths(segments.map((s) => ({ bytes: s.length, seconds: s.seconds })))
  return { head, path, bytes: Buffer.byteLength(text), peak, average }
}

/** After the run: sheets renamed (`storyboard.jpg`, `storyboard-2.jpg`, ...), the WebVTT written. */
export async function finishStoryboard(
  plan: StoryboardPlan,
  outDir: string,
  duration: number,
): Promise<{ output: Omit<Output, 'path'>; files: ExtraFile[] }> {
  const name = sheetName(plan.profile)
  const sheets = Math.ceil(plan.tiles / (plan.columns * plan.rows))
  const files: ExtraFile[] = []
  let bytes = 0
  for (let sheet = 1; sheet <= sheets; sheet++) {
    const written = plan.sheetPattern.replace('%d', String(sheet))
    const path = join(outDir, name(sheet))
    if (written !== path) await rename(written, path)
    files.push({ name: name(sheet), path })
    bytes += (await stat(path)).size
  }
  const vtt = storyboardVtt(plan, duration, name)
  await writeFile(join(outDir, `${plan.profile}.vtt`), vtt)
  return {
    output: {
      profile: plan.profile,
      width: plan.tileWidth,
      height: plan.tileHeight,
      duration,
      size_bytes: bytes + Buffer.byteLength(vtt),
      bitrate: null,
      codec: 'webvtt',
    },
    files,
  }
}
