import { AppError, diskFull, isNoSpace } from '@vpp/shared'

/** An error as tus's hooks throw it: the API's `{ error, message }` with its status. */
export const jsonError = (status: number, error: string, message: string) => ({
  status_code: status,
  body: JSON.stringify({ error, message }),
})
/** tus's own errors as the API's `{ error, message }`, by status. */
const TUS_CODES: Record<number, string> = {
  400: 'bad_request',
  403: 'forbidden',
  404: 'not_found',
  409: 'upload_offset_mismatch',
  410: 'upload_gone',
  412: 'tus_version_required',
  413: 'file_too_large',
  415: 'invalid_file_type',
  423: 'upload_locked',
  460: 'checksum_mismatch',
}
/** A tus error text as the API's `{ error, message }`. */
export const tusError = (status: number, text: string) => ({
  error: TUS_CODES[status] ?? 'internal_error',
  message: text.trim() || 'Upload failed',
})
/** An upload request whose body stopped coming for UPLOAD_IDLE_TIMEOUT_MS, or outlasted UPLOAD_TIMEOUT_MS. */
export const uploadStalled = () => new AppError('upload_timeout', 'The upload stalled or took too long', 408)

/** `response` (tus's headers) with the API's JSON error body instead of its own, and `status`. */
export function withBody(
  response: Response,
  body: { error: string; message: string },
  status = response.status,
) {
  const text = JSON.stringify(body)
  const headers = new Headers(response.headers)
  headers.set('Content-Type', 'application/json')
  headers.set('Content-Length', String(new TextEncoder().encode(text).byteLength))
  return new Response(text, { status, headers })
}

/** An error body that is ours already, or null. */
export const ourErrorBody = (text: string): { error: string } | null => {
  try {
    const body = JSON.parse(text) as { error?: unknown }
    return typeof body?.error === 'string' ? { error: body.error } : null
  } catch {
    return null
  }
}

/**
 * tus's `onResponseError`: our AppErrors as they are, a full disk met by the data store's own
 * writes (S3's part files, an info file) as 507 `disk_full` on `volume`, and tus's own errors as
 * the API's `{ error, message }`.
 */
export function tusErrorAnswer(volume: string) {
  return (error: Error | { status_code: number; body: string }) => {
    if (error instanceof AppError) return jsonError(error.status, error.code, error.message)
    if (isNoSpace(error)) {
      const full = diskFull(volume)
      return jsonError(full.status, full.code, full.message)
    }
    const status = 'status_code' in error ? error.status_code : 500
    const body = 'body' in error ? error.body : String(error)
    if (body.startsWith('{')) return { status_code: status, body }
    const { error: code, message } = tusError(status, body)
    return jsonError(status, code, message)
  }
}
