import { AppError, addressPolicy, checkImportUrl, checkResolved, hostOf, isIpLiteral } from '@vpp/shared'
import type { IngestDeps } from './deps.ts'

/** A URL import's host name must resolve within this, by default. */
const RESOLVE_TIMEOUT_MS = 3000

/**
 * A URL the pipeline will connect to (an import, a webhook target) must name the public
 * internet (unless URL_IMPORT_ALLOW_PRIVATE): by its form and, when it names a host, by every
 * address that host resolves to now. It is checked again, pinned, at each connection.
 */
export function publicUrlCheck(deps: IngestDeps): (url: string) => Promise<void> {
  const allowed = addressPolicy(deps.allowPrivateUrls ?? false)
  const resolveTimeoutMs = deps.resolveTimeoutMs ?? RESOLVE_TIMEOUT_MS
  return async (url) => {
    const parsed = new URL(url)
    checkImportUrl(parsed, allowed)
    const host = hostOf(parsed)
    if (deps.resolveHost && !isIpLiteral(host)) {
      checkResolved(host, await resolveWithin(deps.resolveHost, host, resolveTimeoutMs), allowed)
    }
  }
}

/**
 * The addresses of a URL import's host, or 400 invalid_url when it has none or takes longer than
 * `timeoutMs` to say (the resolver is told to stop then, through the signal).
 */
async function resolveWithin(
  resolve: (hostname: string, signal?: AbortSignal) => Promise<string[]>,
  host: string,
  timeoutMs: number,
): Promise<string[]> {
  const signal = AbortSignal.timeout(timeoutMs)
  let onAbort = () => {}
  const expired = new Promise<never>((_, reject) => {
    onAbort = () =>
      reject(new AppError('invalid_url', `The host ${host} did not resolve within ${timeoutMs / 1000}s`, 400))
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([
      resolve(host, signal).catch((error: unknown) => {
        if (signal.aborted) return expired
        throw new AppError('invalid_url', `The host ${host} could not be resolved`, 400, { cause: error })
      }),
      expired,
    ])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}
