import * as tus from 'tus-js-client'

/**
 * What `upload` sends: a Blob or File, bytes, a web ReadableStream (its size given), or in Node
 * what tus-js-client reads there itself: a Buffer, a Readable, or an `fs.ReadStream`, which it
 * slices by offset and fingerprints by path, size and mtime, so a later run resumes it.
 */
export type UploadSource = Blob | Uint8Array | ReadableStream<Uint8Array> | NodeReadable

/** A Node.js Readable, typed by shape so the client needs no Node types. */
export interface NodeReadable {
  readonly readable: boolean
  pipe: (...args: never[]) => unknown
}

type FileSource = Awaited<ReturnType<tus.FileReader['openFile']>>

/**
 * tus-js-client's reader, extended to Blobs, bytes and web streams on every runtime (its Node
 * build reads none of them, its browser build no bytes); anything else goes to its own reader.
 */
export function fileReader(size: number | undefined): tus.FileReader {
  return {
    async openFile(input: unknown, chunkSize: number): Promise<FileSource> {
      if (typeof Blob !== 'undefined' && input instanceof Blob) return blobSource(input)
      if (input instanceof Uint8Array) return bytesSource(input)
      if (isWebStream(input)) {
        if (size === undefined) throw new TypeError('a stream upload needs its size (options.size)')
        return webStreamSource(input, size)
      }
      return tus.defaultOptions.fileReader.openFile(input, chunkSize)
    },
  }
}

export function isWebStream(input: unknown): input is ReadableStream<Uint8Array> {
  return typeof (input as ReadableStream | null)?.getReader === 'function'
}

/** Each chunk read from the Blob when it is sent (a chunk in memory at a time). */
export function blobSource(blob: Blob): FileSource {
  return {
    size: blob.size,
    async slice(start, end) {
      const value = sized(new Uint8Array(await blob.slice(start, end).arrayBuffer()))
      return { value, done: end >= blob.size }
    },
    close() {},
  }
}

export function bytesSource(bytes: Uint8Array): FileSource {
  return {
    size: bytes.length,
    async slice(start, end) {
      return { value: sized(bytes.subarray(start, end)), done: end >= bytes.length }
    },
    close() {},
  }
}

/**
 * A stream read forwards only. tus asks for the same chunk again when sending it failed (from
 * the offset the server reports), so what was read from the start of the last chunk on is kept
 * until a later chunk is asked for; asking for anything before it is an error.
 */
export function webStreamSource(stream: ReadableStream<Uint8Array>, size: number): FileSource {
  const reader = stream.getReader()
  let buffer: Uint8Array = new Uint8Array(0)
  /** The offset of buffer[0] in the stream. */
  let bufferStart = 0
  let ended = false
  return {
    size,
    async slice(start, end) {
      if (start < bufferStart) {
        throw new Error(`cannot read a stream backwards (offset ${start}, kept from ${bufferStart})`)
      }
      const read: Uint8Array[] = [buffer]
      let have = bufferStart + buffer.length
      while (!ended && have < end) {
        const chunk = await reader.read()
        if (chunk.done) ended = true
        else {
          read.push(chunk.value)
          have += chunk.value.length
        }
      }
      buffer = concat(read)
      buffer = buffer.subarray(Math.min(start - bufferStart, buffer.length))
      bufferStart = start
      const value = sized(buffer.subarray(0, end - start))
      return { value, done: ended && bufferStart + buffer.length <= end }
    },
    close() {
      reader.cancel().catch(() => {})
    },
  }
}

/** tus-js-client measures a chunk by its `size` (as a Blob's), Node's BufferSource sets one too. */
function sized(value: Uint8Array): Uint8Array & { size: number } {
  return Object.assign(value, { size: value.length })
}

/** The chunks as one array, copied once. */
function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0] ?? new Uint8Array(0)
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0))
  let at = 0
  for (const chunk of chunks) {
    out.set(chunk, at)
    at += chunk.length
  }
  return out
}
