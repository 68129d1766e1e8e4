import {
  AppError,
  ContentCheck,
  diskFull,
  displayName,
  hasAcceptedExtension,
  isNoSpace,
  pngSize,
  type UploadSink,
  type UploadStorage,
  watermarkTooLarge,
} from '@vpp/shared'
import * as Multipart from 'multipasta'

export interface ReceivedUpload {
  /** The client's file name, cleaned for display. */
  filename: string
  /** The other (text) fields of the form, by name (the first of each name; 64 KiB each at most). */
  fields: Record<string, string>
  size: number
  /** The `watermark_image` part's bytes: a PNG of the size limits (ReceiveOptions.watermark). */
  watermark?: Uint8Array
  /** Remove the stored file again (when the job could not be queued). */
  discard(): Promise<void>
}

export interface ReceiveOptions {
  id: string
  maxBytes: number
  storage: UploadStorage
  /** Nothing received for this long: the upload is dropped (408). */
  idleTimeoutMs: number
  /** The whole upload must arrive within this (a steady trickle is no way around the idle timeout). */
  totalTimeoutMs: number
  /** Multipart field holding the file. */
  field?: string
  /**
   * The `watermark_image` part (a PNG, before or after the file): held in memory up to
   * `maxBytes` (413 `watermark_too_large`), its IHDR within `maxSide` (400 `invalid_watermark`).
   * Unset: the part is ignored.
   */
  watermark?: { maxBytes: number; maxSide: number }
}

/** The multipart part holding a watermark image uploaded with the video. */
export const WATERMARK_PART = 'watermark_image'

type Event =
  | { type: 'start'; filename: string }
  | { type: 'data'; chunk: Uint8Array }
  | { type: 'end' }
  | { type: 'watermark'; chunk: Uint8Array | null }

/** Where uploads are stored, as a `disk_full` message names it. */
export const UPLOAD_VOLUME = 'upload volume (UPLOAD_DIR)'

export const fileTooLarge = () => new AppError('file_too_large', 'File too large', 413)

/** A file of no bytes: nothing to transcode (multipart and tus alike). */
export const emptyFile = () => new AppError('empty_file', 'The file is empty', 400)

export const uploadTimeout = (message: string) => new AppError('upload_timeout', message, 408)

/**
 * Stream the `file` part of a multipart/form-data request into storage without holding it in
 * memory: each body chunk is parsed, and its file bytes are written (awaited) before the next
 * chunk is read, so memory stays at about one chunk whatever the upload's size. The size limit,
 * the content check (magic bytes) and the timeouts apply as bytes arrive; on any failure (a
 * full disk too: 507 `disk_full`) the partial file is removed.
 */
export async function receiveUpload(request: Request, options: ReceiveOptions): Promise<ReceivedUpload> {
  const field = options.field ?? 'file'
  if (!request.body) throw badRequest('Request body is empty')

  const events: Event[] = []
  let parseError: Multipart.MultipartError | undefined
  let sawFile = false
  const watermark = heldWatermark(options.watermark)
  const fields: Record<string, string> = {}
  const parser = Multipart.make({
    headers: Object.fromEntries(request.headers),
    maxParts: 100,
    maxFieldSize: 64 * 1024,
    onField(info, value) {
      if (!(info.name in fields)) fields[info.name] = new TextDecoder().decode(value)
    },
    onFile(info) {
      if (info.name === WATERMARK_PART)
        return watermark.part((chunk) => events.push({ type: 'watermark', chunk }))
      if (info.name !== field || sawFile) return () => {}
      sawFile = true
      events.push({ type: 'start', filename: info.filename ?? '' })
      return (chunk) => events.push(chunk === null ? { type: 'end' } : { type: 'data', chunk })
    },
    onError(error) {
      parseError ??= error
    },
    onDone() {},
  })

  const reader = request.body.getReader()
  const content = new ContentCheck()
  let sink: UploadSink | undefined
  let filename = ''
  let size = 0
  let complete = false
  const drain = async () => {
    if (parseError) throw multipartError(parseError)
    for (const event of events.splice(0)) {
      if (event.type === 'watermark') watermark.push(event.chunk)
      else if (event.type === 'start') {
        filename = displayName(event.filename)
        if (!hasAcceptedExtension(event.filename)) {
          throw new AppError('invalid_file_type', 'Invalid file type', 415)
        }
        sink = await stored(options.storage.create(options.id))
      } else if (event.type === 'data') {
        size += event.chunk.byteLength
        if (size > options.maxBytes) throw fileTooLarge()
        for (const chunk of content.push(event.chunk)) await stored(sink?.write(chunk))
      } else {
        if (size === 0) throw emptyFile()
        for (const chunk of content.end()) await stored(sink?.write(chunk))
        complete = true
      }
    }
  }

  try {
    const read = timedReader(reader, options)
    for (;;) {
      const { done, value } = await read()
      if (done) break
      parser.write(value)
      await drain()
    }
    parser.end()
    await drain()
    if (!sawFile) throw badRequest(`Missing multipart field "${field}" with the video file`)
    if (!complete || !sink) throw badRequest('Upload ended before the file was complete')
    await stored(sink.commit())
    const committed = sink
    return { filename, size, fields, watermark: watermark.bytes(), discard: () => committed.abort() }
  } catch (error) {
    await reader.cancel().catch(() => {})
    await sink?.abort()
    throw error
  }
}

/** The watermark part's bytes as they come, refused past its limits; checked as a PNG at its end. */
function heldWatermark(limits: ReceiveOptions['watermark']) {
  const chunks: Uint8Array[] = []
  let size = 0
  let whole: Uint8Array | undefined
  let taken = false
  return {
    /** What the parser feeds the part's chunks to (its first such part only; none when unasked). */
    part(feed: (chunk: Uint8Array | null) => void): (chunk: Uint8Array | null) => void {
      if (!limits || taken) return () => {}
      taken = true
      return feed
    },
    push(chunk: Uint8Array | null) {
      if (!limits) return
      if (chunk === null) {
        whole = new Uint8Array(size)
        let at = 0
        for (const part of chunks.splice(0)) {
          whole.set(part, at)
          at += part.byteLength
        }
        pngSize(whole, limits.maxSide)
        return
      }
      size += chunk.byteLength
      if (size > limits.maxBytes) throw watermarkTooLarge(limits.maxBytes)
      chunks.push(chunk.slice()) // held past this read: a copy of our own
    },
    bytes: () => whole,
  }
}

/**
 * `reader.read()` that fails with 408 when no chunk arrives within the idle timeout, or the
 * upload as a whole outlasts the total one.
 */
function timedReader(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  options: Pick<ReceiveOptions, 'idleTimeoutMs' | 'totalTimeoutMs'>,
) {
  const deadline = Date.now() + options.totalTimeoutMs
  return async () => {
    const total = deadline - Date.now()
    const idle = total < options.idleTimeoutMs ? null : options.idleTimeoutMs
    let timer: ReturnType<typeof setTimeout> | undefined
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            idle === null
              ? uploadTimeout(`Upload took longer than ${Math.round(options.totalTimeoutMs / 1000)}s`)
              : uploadTimeout(`Upload stalled: nothing received for ${idle / 1000}s`),
          ),
        Math.max(0, idle ?? total),
      )
    })
    try {
      return await Promise.race([
        reader.read().catch((error: unknown) => {
          // The body itself failed: the client went away (or its connection broke) mid-upload.
          throw new AppError(
            'client_aborted',
            'The client closed the connection before the upload was complete',
            499,
            {
              cause: error,
            },
          )
        }),
        expired,
      ])
    } finally {
      clearTimeout(timer)
    }
  }
}

/**
 * A failure of the upload store is the service's, not the client's: a full disk is 507
 * `disk_full`, anything else (S3 unreachable, an I/O error) 503.
 */
async function stored<T>(operation: Promise<T> | undefined): Promise<T | undefined> {
  try {
    return await operation
  } catch (error) {
    if (error instanceof AppError) throw error
    if (isNoSpace(error)) throw diskFull(UPLOAD_VOLUME, { cause: error })
    throw new AppError('storage_unavailable', 'The upload store is unavailable; try again shortly', 503, {
      cause: error,
    })
  }
}

const badRequest = (message: string) => new AppError('bad_request', message, 400)

function multipartError(error: Multipart.MultipartError): AppError {
  switch (error._tag) {
    case 'InvalidBoundary':
      return badRequest('Expected a multipart/form-data body with a boundary')
    case 'ReachedLimit':
      return badRequest(`Multipart body exceeds a limit (${error.limit})`)
    case 'EndNotReached':
      return badRequest('Upload ended before the file was complete')
    default:
      return badRequest('Malformed multipart body')
  }
}
