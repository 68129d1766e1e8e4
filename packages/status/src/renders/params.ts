import { AppError, type Job, type Output } from '@vpp/shared'

/** Longest animated preview, in seconds; its highest frame rate; its widest size. */
export const ANIMATED_MAX_SECONDS = 10
export const ANIMATED_MAX_FPS = 30
export const ANIMATED_MAX_WIDTH = 640
/** Widest thumbnail rendered on demand; the narrowest render of either kind. */
export const THUMBNAIL_MAX_WIDTH = 1920
export const RENDER_MIN_WIDTH = 16
/**
 * One frame at the lowest common frame rate (24 fps): the record does not keep the rendition's
 * rate, so the last time a frame is sure to start at is `duration - 1/24`.
 */
export const FRAME_SECONDS = 1 / 24

/** A thumbnail at `timeMs`, `width` pixels wide. */
export interface ThumbnailRender {
  kind: 'thumbnail'
  timeMs: number
  width: number
}
/** An animated preview of [`startMs`, `endMs`) at `fps`, `width` pixels wide. */
export interface AnimatedRender {
  kind: 'animated'
  startMs: number
  endMs: number
  fps: number
  width: number
}
export type Render = ThumbnailRender | AnimatedRender

/** What a render is made from: the job's top H.264 MP4 rendition. */
export interface RenderSource {
  /** Its file name in the job's folder (`720p.mp4`). */
  name: string
  width: number
  duration: number
}

/** The query a render route reads. */
export type RenderQuery = Record<string, string | undefined>

const bad = (message: string) => new AppError('bad_request', message, 400)

/** The widest H.264 MP4 rendition of a job with a duration; null when there is none. */
export function renderSource(job: Pick<Job, 'outputs'>): RenderSource | null {
  const candidates = job.outputs.filter(
    (o: Output): o is Output & { width: number } =>
      o.path.endsWith('.mp4') &&
      o.codec === 'h264' &&
      o.width !== null &&
      o.duration !== null &&
      o.duration > 0,
  )
  const top = candidates.sort((a, b) => b.width - a.width)[0]
  const name = top?.path.split('/').pop()
  if (!top?.duration || !name) return null
  return { name, width: top.width, duration: top.duration }
}

/** Whether a thumbnail request asks for a render (`time` or `width`): else it is the published file. */
export const wantsThumbnailRender = (query: RenderQuery) =>
  query.time !== undefined || query.width !== undefined

/** A number of seconds from `name`, to the millisecond (rounded down), or 400. */
function seconds(query: RenderQuery, name: string): number | undefined {
  const text = query[name]
  if (text === undefined) return undefined
  if (!/^\d{1,6}(\.\d{1,6})?$/.test(text)) throw bad(`${name} must be a number of seconds, such as 12.5`)
  return Math.floor(Number(text) * 1000)
}

/** An integer from `name` within [min, max], or 400. */
function integer(query: RenderQuery, name: string, min: number, max: number): number | undefined {
  const text = query[name]
  if (text === undefined) return undefined
  const value = Number(text)
  if (!/^\d{1,5}$/.test(text) || value < min || value > max) {
    throw bad(`${name} must be a whole number from ${min} to ${max}`)
  }
  return value
}

/** An even width from `query.width` within [16, max] (`max` rounded down to even), else `fallback`. */
function width(query: RenderQuery, max: number, fallback: number): number {
  const top = max - (max % 2)
  if (top < RENDER_MIN_WIDTH) throw bad(`the rendition is ${max} px wide: too narrow to render from`)
  const asked = integer(query, 'width', RENDER_MIN_WIDTH, top)
  if (asked !== undefined && asked % 2 !== 0) throw bad(`width must be even (${asked} is not)`)
  return asked ?? Math.min(top, fallback - (fallback % 2))
}

/** The last millisecond a frame is sure to start at in `source`. */
const lastFrameMs = (source: RenderSource) =>
  Math.max(0, Math.floor((source.duration - FRAME_SECONDS) * 1000))

/**
 * Pure: the thumbnail `query` asks for, checked against `source`: `time` (default a quarter in,
 * at most 60 s, as the published thumbnail) from 0 to the last frame; `width` even, 16 to
 * min(1920, the rendition's width) (default the rendition's).
 */
export function thumbnailRender(query: RenderQuery, source: RenderSource): ThumbnailRender {
  const last = lastFrameMs(source)
  const timeMs = seconds(query, 'time') ?? Math.min(Math.floor(source.duration * 250), 60_000)
  if (timeMs > last) {
    throw bad(`time must be at most ${last / 1000} s: the video is ${source.duration} s long`)
  }
  const max = Math.min(THUMBNAIL_MAX_WIDTH, source.width)
  return { kind: 'thumbnail', timeMs, width: width(query, max, max) }
}

/**
 * Pure: the animated preview `query` asks for, checked against `source`: `start` (default 0)
 * before the last frame, `end` (default start + 5 s) after it and at most 10 s later, cut to
 * the video's end; `fps` 1 to 30 (default 15); `width` even, 16 to min(640, the rendition's)
 * (default 320).
 */
export function animatedRender(query: RenderQuery, source: RenderSource): AnimatedRender {
  const durationMs = Math.floor(source.duration * 1000)
  const startMs = seconds(query, 'start') ?? 0
  if (startMs > lastFrameMs(source)) {
    throw bad(`start must be at most ${lastFrameMs(source) / 1000} s: the video is ${source.duration} s long`)
  }
  const asked = seconds(query, 'end')
  if (asked !== undefined && asked > durationMs) {
    throw bad(`end must be at most ${durationMs / 1000} s: the video is ${source.duration} s long`)
  }
  const endMs = Math.min(asked ?? startMs + 5000, durationMs)
  if (endMs <= startMs) throw bad('end must be after start')
  if (endMs - startMs > ANIMATED_MAX_SECONDS * 1000) {
    throw bad(`an animated preview is at most ${ANIMATED_MAX_SECONDS} s long (end - start)`)
  }
  const fps = integer(query, 'fps', 1, ANIMATED_MAX_FPS) ?? 15
  return {
    kind: 'animated',
    startMs,
    endMs,
    fps,
    width: width(query, Math.min(ANIMATED_MAX_WIDTH, source.width), 320),
  }
}

/** The file a render is cached as, under the job's `renders/`: one name per distinct request. */
export function renderName(render: Render): string {
  if (render.kind === 'thumbnail') return `thumb-t${render.timeMs}-w${render.width}.jpg`
  return `anim-s${render.startMs}-e${render.endMs}-f${render.fps}-w${render.width}.webp`
}
