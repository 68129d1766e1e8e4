/**
 * Pure: the ffmpeg arguments of on-demand renders (a thumbnail, an animated WebP preview), made
 * from a job's own top rendition with a fast input seek (`-ss` before `-i`: the demuxer jumps
 * to the keyframe before, and only the frames from there to the time are decoded).
 */
import type { AnimatedRender, ThumbnailRender } from './params.ts'

/** How every run starts: as the transcoder's (`ffmpeg-args/input.ts` COMMON). */
export const COMMON = ['-hide_banner', '-nostdin', '-y', '-loglevel', 'error']

/**
 * The input, confined to what it is: one of our MP4 renditions (the mov demuxer named, never
 * probed for; no data references), read from a local file (`file:` only) or from a presigned
 * S3 GET (the protocols an http(s) URL needs, nothing else).
 */
export function sourceInput(source: string): string[] {
  const confine = ['-f', 'mp4', '-enable_drefs', '0']
  if (source.startsWith('https://')) return ['-protocol_whitelist', 'https,tls,tcp', ...confine]
  if (source.startsWith('http://')) return ['-protocol_whitelist', 'http,tcp', ...confine]
  return ['-protocol_whitelist', 'file', ...confine]
}

/** The input's name as ffmpeg reads it: `file:` keeps a path from reading as a protocol. */
const inputName = (source: string) => (/^https?:\/\//.test(source) ? source : `file:${source}`)

/** Milliseconds as ffmpeg's seconds (`12500` → `12.5`). */
const secondsOf = (ms: number) => String(ms / 1000)

/** One JPEG frame at the time, `width` wide (height kept in proportion, even). */
export function thumbnailArgs(source: string, render: ThumbnailRender, out: string): string[] {
  return [
    ...COMMON,
    ...sourceInput(source),
    ...['-ss', secondsOf(render.timeMs), '-i', inputName(source)],
    ...['-map', '0:v:0', '-frames:v', '1'],
    ...['-vf', `scale=${render.width}:-2`],
    // JPEG quality on ffmpeg's 2 (best) to 31 scale: the published thumbnail's.
    ...['-q:v', '3'],
    // One image to one file name (no %d pattern).
    ...['-update', '1', '-f', 'image2', out],
  ]
}

/** An endlessly looping animated WebP of [start, end) at `fps`, `width` wide, without audio. */
export function animatedArgs(source: string, render: AnimatedRender, out: string): string[] {
  return [
    ...COMMON,
    ...sourceInput(source),
    ...['-ss', secondsOf(render.startMs), '-t', secondsOf(render.endMs - render.startMs)],
    ...['-i', inputName(source), '-an'],
    ...['-vf', `fps=${render.fps},scale=${render.width}:-2:flags=lanczos`],
    // Lossy frames at quality 70, a middle compression effort (0 fastest, 6 smallest).
    ...['-c:v', 'libwebp_anim', '-quality', '70', '-compression_level', '4'],
    // Loop forever (0), as a GIF preview would.
    ...['-loop', '0', '-f', 'webp', out],
  ]
}
