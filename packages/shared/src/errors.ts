/**
 * One error base class with a stable `code` (the `error` field of every JSON error body)
 * and the HTTP status it maps to.
 */
export class AppError extends Error {
  readonly code: string
  readonly status: number
  /** Response headers that go with the error (Retry-After, ...). */
  readonly headers: Record<string, string> = {}

  constructor(code: string, message: string, status = 500, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
    this.code = code
    this.status = status
  }
}

/** Bad configuration: the message names the variable. Stops the process at start-up. */
export class ConfigError extends AppError {
  constructor(message: string) {
    super('invalid_config', message, 500)
  }
}

/**
 * A job failure that no retry can fix (not a video, no video stream, ...). Like BullMQ's
 * `UnrecoverableError`: the job fails at once.
 */
export class PermanentJobError extends AppError {
  /** `status`: the HTTP status when the same check refuses a request (default 422). */
  constructor(code: string, message: string, options?: ErrorOptions & { status?: number }) {
    super(code, message, options?.status ?? 422, options)
  }
}

/** Turn anything thrown into a short, readable sentence for a job record or a log line. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message
  return String(error)
}
