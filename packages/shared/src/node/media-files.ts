import { realpath, stat } from 'node:fs/promises'
import { join, sep } from 'node:path'
import { serveStatic } from '@hono/node-server/serve-static'
import type { MiddlewareHandler } from 'hono'
import { MEDIA_TYPES } from '../storage/storage.ts'

/** Playlists and cues are small and read first; the media files never change once published. */
const IMMUTABLE = new Set(['mp4', 'webm', 'jpg', 'm4s'])

/**
 * Serve `OUTPUT_DIR/{file}` for the route's `file` (already checked to be a relative path of
 * plain segments): GET and HEAD, `Range` (206, 416), `Last-Modified`, a weak `ETag` from size
 * and mtime with 304 on revalidation, a Content-Type for every kind of output, long caching for
 * media. Streamed from disk (@hono/node-server's serveStatic). A file whose real path (symlinks
 * resolved) is not inside OUTPUT_DIR answers 404, as does anything missing.
 */
export function mediaFiles(
  outputDir: string,
  file: (c: Parameters<MiddlewareHandler>[0]) => string,
): MiddlewareHandler {
  // Resolved when first needed, and again until it exists (a fresh OUTPUT_DIR appears with the
  // first job): a relative or symlinked OUTPUT_DIR is compared by its real, absolute path.
  let resolved: string | undefined
  return async (c, next) => {
    resolved ??= await realpath(outputDir).catch(() => undefined)
    const root = resolved
    if (!root) return next()
    const name = file(c)
    const real = await realpath(join(root, name)).catch(() => null)
    const info = real?.startsWith(`${root}${sep}`) ? await stat(real).catch(() => null) : null
    if (!real || !info?.isFile()) return next()
    const etag = `W/"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`
    const extension = name.split('.').pop() ?? ''
    c.header('ETag', etag)
    c.header(
      'Cache-Control',
      IMMUTABLE.has(extension) ? 'public, max-age=31536000, immutable' : 'public, max-age=60',
    )
    const ifNoneMatch = c.req.header('if-none-match')
    const ifModifiedSince = Date.parse(c.req.header('if-modified-since') ?? '')
    const unchanged = ifNoneMatch
      ? ifNoneMatch.split(',').some((tag) => tag.trim() === etag || tag.trim() === '*')
      : Number.isFinite(ifModifiedSince) &&
        Math.floor(info.mtimeMs / 1000) <= Math.floor(ifModifiedSince / 1000)
    if (unchanged) {
      c.header('Last-Modified', info.mtime.toUTCString())
      return c.body(null, 304)
    }
    const serve = serveStatic({ path: real })
    const response = await serve(c, next)
    // serveStatic guesses types from a table without m3u8 or m4s: ours are set on what it made.
    response?.headers.set('Content-Type', MEDIA_TYPES[extension] ?? 'application/octet-stream')
    response?.headers.set('Accept-Ranges', 'bytes')
    return response ?? undefined
  }
}
