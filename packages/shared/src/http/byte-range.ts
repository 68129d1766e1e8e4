/** A satisfiable byte range of a file: `start` to `end`, both included. */
export interface ByteRange {
  start: number
  end: number
}

/** One range, as `@hono/node-server`'s serveStatic reads it: `bytes=a-b`, `bytes=a-`, `bytes=-n`. */
const BYTE_RANGE = /^(?:bytes=)?(?!-$)(\d*)-(\d*)$/

/**
 * The bytes a `Range` header asks for in a file of `size` bytes, or null when none of them exist
 * (416). Read as Node's file server reads it, so every runtime answers alike: an end past the
 * file is cut to it, `bytes=-n` is the last n bytes, and a header it cannot read (several ranges,
 * another unit) asks for the whole file, as `bytes=0-`.
 */
export function byteRange(header: string, size: number): ByteRange | null {
  const [, first = '', last = ''] = BYTE_RANGE.exec(header) ?? [header, '0', '']
  if (size === 0) return null
  if (first === '') {
    const length = Number(last)
    return length === 0 ? null : { start: Math.max(size - length, 0), end: size - 1 }
  }
  const start = Number(first)
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1)
  return start >= size || start > end ? null : { start, end }
}
