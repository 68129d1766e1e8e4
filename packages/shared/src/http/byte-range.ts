import type { Context } from 'hono'
import { AppError } from '../api/errors.ts'

/**
 * How to answer a GET with a `Range` header for a file of `size` bytes (RFC 9110 §14): 206 with
 * bytes `start` to `end` (both included), 416, or 200 with the whole file.
 */
export type RangeAnswer = { status: 206; start: number; end: number } | { status: 200 } | { status: 416 }

/** One range: `bytes=a-b`, `bytes=a-`, `bytes=-n`. */
const ONE_RANGE = /^bytes=(\d*)-(\d*)$/
const WHOLE: RangeAnswer = { status: 200 }
const UNSATISFIABLE: RangeAnswer = { status: 416 }

/**
 * What a `Range` header asks of a file of `size` bytes. One range is served (206): an end past
 * the file is cut to it, `bytes=-n` is the last n bytes. One that starts past the end, or an
 * empty suffix, is unsatisfiable (416). Anything else is ignored, as RFC 9110 lets a server do,
 * and the whole file served (200): several ranges (no `multipart/byteranges`: players ask for one
 * at a time), another unit, an end before the start, or a header that is no range at all.
 */
export function byteRange(header: string, size: number): RangeAnswer {
  const match = ONE_RANGE.exec(header)
  if (!match) return WHOLE
  const [, first = '', last = ''] = match
  if (first === '') {
    if (last === '') return WHOLE
    const length = Number(last)
    return length === 0 || size === 0
      ? UNSATISFIABLE
      : { status: 206, start: Math.max(size - length, 0), end: size - 1 }
  }
  const start = Number(first)
  if (last !== '' && Number(last) < start) return WHOLE
  if (start >= size) return UNSATISFIABLE
  return { status: 206, start, end: last === '' ? size - 1 : Math.min(Number(last), size - 1) }
}

/** 416 `range_not_satisfiable`, with the `Content-Range: bytes *\/size` RFC 9110 asks for. */
export function rangeNotSatisfiable(range: string, size: number): AppError {
  const error = new AppError(
    'range_not_satisfiable',
    `The range ${range} is not within the file's ${size} bytes`,
    416,
  )
  error.headers['Content-Range'] = `bytes */${size}`
  return error
}

/**
 * Answer a GET of `body` (bytes held in memory, such as a playlist read from the bucket) as the
 * file servers answer one of a file: its Range read by `byteRange`.
 */
export function bytesResponse(c: Context, body: Uint8Array<ArrayBuffer>): Response {
  const header = c.req.header('range')
  const range = header === undefined ? WHOLE : byteRange(header, body.byteLength)
  c.header('Accept-Ranges', 'bytes')
  if (range.status === 416) throw rangeNotSatisfiable(header ?? '', body.byteLength)
  if (range.status === 200) return c.body(body, 200)
  c.header('Content-Range', `bytes ${range.start}-${range.end}/${body.byteLength}`)
  return c.body(body.subarray(range.start, range.end + 1), 206)
}
