/**
 * An answer other than the one asked for, or none: `status` is the HTTP status (0 when the
 * service could not be reached), `code` the API's stable `error` (`not_found`, `job_finished`,
 * `unauthorized`, …; `unreachable` or `http_{status}` when the body is not the API's).
 */
export class VppError extends Error {
  override readonly name = 'VppError'

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }

  /** The error of a response that is not ok: its `{ error, message }` body, or its status. */
  static async fromResponse(res: Response): Promise<VppError> {
    const text = await res.text().catch(() => '')
    return VppError.fromBody(res.status, text)
  }

  /** The error of a status and body text (tus-js-client hands over both). */
  static fromBody(status: number, text: string): VppError {
    try {
      const body = JSON.parse(text) as { error?: unknown; message?: unknown }
      if (typeof body.error === 'string') {
        return new VppError(status, body.error, typeof body.message === 'string' ? body.message : body.error)
      }
    } catch {} // not the API's JSON: a proxy's page, or nothing
    return new VppError(status, `http_${status}`, text.trim().slice(0, 200) || `HTTP ${status}`)
  }

  /** No answer at all: refused, reset, a DNS failure. */
  static unreachable(url: string, cause: unknown): VppError {
    // fetch's TypeError carries the socket's error as its cause; node:http's is that error.
    type SocketError = { code?: unknown; message?: unknown; cause?: SocketError }
    const reason = (cause as SocketError | undefined)?.cause ?? (cause as SocketError | undefined)
    const why = String(reason?.code ?? reason?.message ?? cause)
    return new VppError(0, 'unreachable', `cannot reach ${new URL(url).origin}: ${why}`, { cause })
  }
}
