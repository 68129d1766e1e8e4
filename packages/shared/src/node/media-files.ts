import { createReadStream } from 'node:fs'
import { realpath, stat } from 'node:fs/promises'
import { join, sep } from 'node:path'
import { Readable } from 'node:stream'
import { serveStatic as serveNodeStatic } from '@hono/node-server/serve-static'
import type { MiddlewareHandler } from 'hono'
import { byteRange, rangeNotSatisfiable } from '../http/byte-range.ts'
import { MEDIA_TYPES } from '../storage/storage.ts'

/** Playlists and cues are small and read first; the media files never change once published. */
const IMMUTABLE = new Set(['mp4', 'webm', 'jpg', 'm4s'])

/**
 * A runtime's file server for one file, its `serveStatic({ root, path })`: answers a GET with the
 * file streamed from disk, and a GET with one satisfiable `Range` with 206 (`Content-Range`,
 * `Content-Length`, `Accept-Ranges`). Node: `@hono/node-server/serve-static` (the default); Bun:
 * `hono/bun` (Bun.serve answers the Range of a Bun.file body itself); Deno: `serveStaticDeno`
 * of `@vpp/shared/deno`.
 */
export type FileServer = (options: { root: string; path: string }) => MiddlewareHandler

/**
 * Serve `OUTPUT_DIR/{file}` for the route's `file` (already checked to be a relative path of
 * plain segments): GET and HEAD, `Range` (206; 416; 200 for several or malformed ranges), `Last-Modified`, a weak `ETag` from size
 * and mtime with 304 on revalidation, a Content-Type for every kind of output, long caching for
 * media. The bytes of a GET come from the runtime's `serveStatic` (but those of a whole file asked
 * for with a Range that is ignored); the rest is answered here, the same on every runtime
 * (`node:fs`, `node:stream` and `node:path` are there on Bun and Deno too). A
 * file whose real path (symlinks resolved) is not inside OUTPUT_DIR answers 404, as does anything
 * missing.
 */
export function mediaFiles(
  outputDir: string,
  file: (c: Parameters<MiddlewareHandler>[0]) => string,
  serveStatic: FileServer = serveNodeStatic,
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
    c.header('Last-Modified', info.mtime.toUTCString())
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
    if (unchanged) return c.body(null, 304)
    const type = MEDIA_TYPES[extension] ?? 'application/octet-stream'
    // HEAD is answered here, without opening the file (Hono would send a GET's answer bodiless).
    if (c.req.method === 'HEAD') {
      c.header('Content-Type', type)
      c.header('Content-Length', String(info.size))
      c.header('Accept-Ranges', 'bytes')
      return c.body(null, 200)
    }
    // A Range header is read here, the same on every runtime: only one satisfiable range goes to
    // the runtime's file server. Unsatisfiable: 416. Several ranges, or a header that is no range:
    // the whole file, streamed here, since Bun.serve would read the header of a Bun.file answer.
    const header = c.req.header('range')
    const range = header === undefined ? undefined : byteRange(header, info.size)
    if (range?.status === 416) throw rangeNotSatisfiable(header ?? '', info.size)
    // A whole file's length is its size (not every runtime's serveStatic says it). A range's
    // headers are the file server's to give (Bun.serve adds its own Accept-Ranges: not twice).
    if (range?.status !== 206) {
      c.header('Content-Length', String(info.size))
      c.header('Accept-Ranges', 'bytes')
    }
    if (range?.status === 200) {
      c.header('Content-Type', type)
      return c.body(wholeFile(real), 200)
    }
    // Hono's serveStatic joins `path` to `root`, by default './', which would make `real` relative.
    const response = await serveStatic({ root: '/', path: real })(c, next)
    // The runtimes' serveStatic guess types from a table without m3u8 or m4s: ours are set on
    // what they made.
    response?.headers.set('Content-Type', type)
    return response ?? undefined
  }
}

/**
 * A file's bytes as a stream, sent with its Content-Length: Bun.serve sends a JS stream chunked
 * (dropping the length), but keeps the length of its own file stream, to which it applies no Range.
 */
function wholeFile(path: string): ReadableStream<Uint8Array> {
  // biome-ignore lint/suspicious/noExplicitAny: the runtime global is typed by its own runtime
  const bun = (globalThis as any).Bun as
    | { file(path: string): { stream(): ReadableStream<Uint8Array> } }
    | undefined
  return bun
    ? bun.file(path).stream()
    : (Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>)
}
