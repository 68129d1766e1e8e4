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

/** errno codes of a volume with no room left: no space, or over a quota. */
const NO_SPACE_CODES = new Set(['ENOSPC', 'EDQUOT'])

/**
 * Whether `error` (or an error it was caused by) is a disk that is full: an errno ENOSPC/EDQUOT
 * from a system call, or an AppError `disk_full` made of one.
 */
export function isNoSpace(error: unknown): boolean {
  for (let at = error, depth = 0; at instanceof Error && depth < 10; at = at.cause, depth++) {
    if (at instanceof AppError && at.code === 'disk_full') return true
    if (NO_SPACE_CODES.has(String((at as { code?: unknown }).code))) return true
  }
  return false
}

/**
 * A write that met a full disk: `disk_full`, 507 Insufficient Storage, saying which volume by the
 * variable that places it (`diskFull('output volume (OUTPUT_DIR)')`).
 */
export function diskFull(volume: string, options?: ErrorOptions): AppError {
  return new AppError('disk_full', `No space left on the ${volume}`, 507, options)
}
