import type { Job } from './types.ts'

/** A thumbnail rendered on demand: `time` in seconds, `width` in pixels (even). */
export interface ThumbnailOptions {
  time?: number
  width?: number
}

/** An animated WebP preview: `start` and `end` in seconds (at most 10 s apart), `fps` up to 30, `width` up to 640. */
export interface AnimatedOptions {
  start?: number
  end?: number
  fps?: number
  width?: number
}

/** `/media/{token}/{job_id}/`: a signed media URL's token. */
const SIGNED = /\/media\/(\d+\.[A-Za-z0-9_-]+)\/([^/?#]+)\//

/**
 * Pure: where a job's media folder is on the status service at `statusUrl`: signed with the
 * token of a media URL in its record (keys on: it works with no header, until it expires), else
 * `{statusUrl}/media/{job_id}/` (keys off, or with the key sent as a header).
 */
export function mediaFolder(job: Job, statusUrl: string): string {
  const base = `${statusUrl.replace(/\/+$/, '')}/media/`
  const urls = [...Object.values(job.playback ?? {}), ...job.outputs.map((o) => o.url)]
  for (const url of urls) {
    const match = url ? SIGNED.exec(url) : null
    if (match && match[2] === job.job_id) return `${base}${match[1]}/${job.job_id}/`
  }
  return `${base}${encodeURIComponent(job.job_id)}/`
}

function withQuery(url: string, params: Record<string, number | undefined>): string {
  return `${url}${query(params)}`
}

/** A query string of the parameters given (none: empty). */
export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams()
  for (const [key, value] of Object.entries(params)) if (value !== undefined) search.set(key, String(value))
  const text = search.toString()
  return text ? `?${text}` : ''
}

/** `GET /media/{job_id}/thumbnail.jpg?time=&width=`: a frame rendered on demand (the published thumbnail without either). */
export function thumbnailUrl(job: Job, statusUrl: string, options: ThumbnailOptions = {}): string {
  return withQuery(`${mediaFolder(job, statusUrl)}thumbnail.jpg`, {
    time: options.time,
    width: options.width,
  })
}

/** `GET /media/{job_id}/animated.webp?start=&end=&fps=&width=`: an animated preview rendered on demand. */
export function animatedUrl(job: Job, statusUrl: string, options: AnimatedOptions = {}): string {
  const { start, end, fps, width } = options
  return withQuery(`${mediaFolder(job, statusUrl)}animated.webp`, { start, end, fps, width })
}
