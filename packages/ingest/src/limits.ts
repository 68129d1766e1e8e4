import { JSON_BODY_LIMIT, requestLimits } from '@vpp/shared'
import type { MiddlewareHandler } from 'hono'
import type { IngestDeps } from './deps.ts'
import { fileTooLarge, uploadTimeout } from './receive-upload.ts'

/** Room for multipart headers and boundaries on top of the file itself. */
const MULTIPART_OVERHEAD = 64 * 1024

/** The body limits of ingest's routes, and the upload timeouts they are built from. */
export interface IngestLimits {
  /** Every route but the uploads: a JSON body of a few KB at most, within REQUEST_TIMEOUT_MS. */
  small: MiddlewareHandler
  /**
   * The uploads: the file and its multipart framing, declared (a chunked body is counted as it
   * streams, by receiveUpload); the upload's own timeouts cut it first, this backs them up.
   */
  upload: MiddlewareHandler
  uploadIdleTimeoutMs: number
  uploadTimeoutMs: number
}

/**
 * `POST /upload` and tus's `POST /uploads`, `PATCH /uploads/{id}`: the routes that time their body
 * themselves (UPLOAD_IDLE_TIMEOUT_MS, UPLOAD_TIMEOUT_MS).
 */
export const isUpload = (request: Request): boolean => {
  const path = new URL(request.url).pathname
  return (
    (request.method === 'POST' && (path === '/upload' || path === '/uploads')) ||
    (request.method === 'PATCH' && path.startsWith('/uploads/'))
  )
}

export function ingestLimits(deps: IngestDeps): IngestLimits {
  const uploadIdleTimeoutMs = deps.uploadIdleTimeoutMs ?? 30_000
  const uploadTimeoutMs = deps.uploadTimeoutMs ?? 3600_000
  const requestTimeoutMs = deps.requestTimeoutMs ?? 10_000
  return {
    small: requestLimits({ maxBytes: JSON_BODY_LIMIT, timeoutMs: requestTimeoutMs }),
    upload: requestLimits({
      maxBytes: deps.maxFileSize + MULTIPART_OVERHEAD,
      timeoutMs: uploadTimeoutMs + requestTimeoutMs,
      streamed: true,
      tooLarge: fileTooLarge,
      timedOut: () => uploadTimeout(`Upload took longer than ${Math.round(uploadTimeoutMs / 1000)}s`),
    }),
    uploadIdleTimeoutMs,
    uploadTimeoutMs,
  }
}
