import { join } from 'node:path'
import type { MiddlewareHandler } from 'hono'
import { serveStatic } from 'hono/deno'
import { byteRange, rangeNotSatisfiable } from '../http/byte-range.ts'

/** The part of Deno's file handle used here (Deno's types are Deno's own). */
interface DenoFile {
  read(into: Uint8Array): Promise<number | null>
  seek(offset: number, whence: number): Promise<number>
  stat(): Promise<{ size: number }>
  close(): void
}
/** Deno.SeekMode.Start. */
const SEEK_START = 0
/** Bytes read from disk at a time. */
const CHUNK_BYTES = 64 * 1024

/**
 * Deno's file server for one file, a `FileServer` for `mediaFiles`: `hono/deno`'s serveStatic
 * streams a whole file (Deno.open's readable) but has no Range support, so a GET with `Range` is
 * answered here from the same primitives: Deno.open, seek to the range's start, and a stream that
 * stops at its end (206 with `Content-Range`; 416 `range_not_satisfiable` with `bytes *` and the
 * size; the whole file for a Range that `byteRange` ignores). Only loads on Deno.
 */
export function serveStaticDeno(options: { root: string; path: string }): MiddlewareHandler {
  const whole = serveStatic(options)
  return async (c, next) => {
    const header = c.req.header('range')
    if (!header || c.req.method !== 'GET') return whole(c, next)
    // biome-ignore lint/suspicious/noExplicitAny: the runtime global is typed by its own runtime
    const deno = (globalThis as any).Deno as { open(path: string): Promise<DenoFile> }
    const file = await deno.open(join(options.root, options.path)).catch(() => null)
    if (!file) return next()
    c.header('Accept-Ranges', 'bytes')
    try {
      const { size } = await file.stat()
      const range = byteRange(header, size)
      if (range.status !== 206) {
        file.close()
        if (range.status === 416) throw rangeNotSatisfiable(header, size)
        return whole(c, next)
      }
      await file.seek(range.start, SEEK_START)
      const length = range.end - range.start + 1
      c.header('Content-Length', String(length))
      c.header('Content-Range', `bytes ${range.start}-${range.end}/${size}`)
      return c.body(slice(file, length), 206)
    } catch (error) {
      file.close()
      throw error
    }
  }
}

/** The next `length` bytes of `file`, read as they are asked for; the file is closed at the end. */
function slice(file: DenoFile, length: number): ReadableStream<Uint8Array> {
  let left = length
  let open = true
  const close = () => {
    if (open) file.close()
    open = false
  }
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const chunk = new Uint8Array(Math.min(left, CHUNK_BYTES))
        const read = await file.read(chunk)
        // A published file does not shrink; if one did, its answer ends short, and does not hang.
        if (read !== null) controller.enqueue(chunk.subarray(0, read))
        left -= read ?? left
        if (left === 0) {
          close()
          controller.close()
        }
      } catch (error) {
        close()
        controller.error(error)
      }
    },
    cancel: close,
  })
}
