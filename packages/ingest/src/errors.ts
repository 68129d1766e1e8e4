import { appErrorOf, jsonErrorHandler } from '@vpp/shared'
import type { ErrorHandler } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { IngestDeps } from './deps.ts'

/**
 * Every error as JSON `{ error, message }` (jsonErrorHandler); a refused upload is counted too,
 * by its code, and one the client broke off is logged as such (not the server's failure).
 */
export function ingestErrorHandler(deps: Pick<IngestDeps, 'logger' | 'metrics'>): ErrorHandler {
  const answer = jsonErrorHandler(deps.logger)
  return (error, c) => {
    if (c.req.path.startsWith('/upload')) {
      const status = uploadStatus(error)
      deps.metrics.uploads.inc({ status })
      // Not the server's failure: nothing is kept, and the client may try again.
      if (status === 'client_aborted')
        deps.logger.info('upload interrupted by the client', { path: c.req.path })
    }
    return answer(error, c)
  }
}

/** The `status` label of a refused upload: the error's code (a bounded set). */
function uploadStatus(error: unknown): string {
  const known = appErrorOf(error)
  if (known) return known.code
  if (error instanceof HTTPException) return error.status === 401 ? 'unauthorized' : 'bad_request'
  return 'internal_error'
}
