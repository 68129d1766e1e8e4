import {
  type AccessEnv,
  clientOf,
  forwardedFor,
  idempotencyScope,
  type Job,
  RateLimiter,
  type TusRecords,
} from '@vpp/shared'
import type { Context } from 'hono'
import type { IngestDeps } from './deps.ts'
import { type Enqueue, jobEnqueuer } from './enqueue.ts'
import { type IngestLimits, ingestLimits } from './limits.ts'
import { publicUrlCheck } from './public-url.ts'

/** What ingest's routes share: the deps, and what is built from them once per app. */
export interface IngestContext {
  deps: IngestDeps
  newId: () => string
  limits: IngestLimits
  /** The API key's id or the peer address: what rate limits and idempotency count by. */
  clientOf: (c: Context<AccessEnv>) => string
  /** Count one creation for the client (429 past RATE_LIMIT_PER_MINUTE). */
  takeRate: (client: string) => Promise<void>
  /** A URL must name the public internet (an import, a callback_url). */
  checkPublic: (url: string) => Promise<void>
  enqueue: Enqueue
  /**
   * Before any work: the first job of a repeated Idempotency-Key (returned, nothing read), then the
   * client's rate limit. Returns the key's scope for enqueue, and that first job when there is one.
   */
  admit: (c: Context<AccessEnv>) => Promise<{ scope?: string; first?: Job }>
  /** The tus uploads' records, on the job store's connection. */
  tusRecords: TusRecords
}

export function ingestContext(deps: IngestDeps): IngestContext {
  const now = deps.now ?? (() => new Date())
  const limiter = new RateLimiter(deps.store.rates, deps.rateLimitPerMinute ?? 0)
  const peer = deps.clientAddress ?? (() => undefined)
  const address = deps.trustProxy ? (c: Context) => forwardedFor(c) ?? peer(c) : peer
  const client = (c: Context<AccessEnv>) => clientOf(c, address)
  return {
    deps,
    newId: deps.newId ?? (() => crypto.randomUUID()),
    limits: ingestLimits(deps),
    clientOf: client,
    takeRate: (id) => limiter.take(id),
    checkPublic: publicUrlCheck(deps),
    enqueue: jobEnqueuer(deps, now),
    async admit(c) {
      // Per client, as the rate limit counts: the API key's id, else the peer address.
      const scope = idempotencyScope(c, client(c))
      if (scope !== undefined) {
        const first = await deps.store.idempotentJob(scope)
        if (first) return { scope, first }
      }
      await limiter.take(client(c))
      return { scope, first: undefined }
    },
    tusRecords: deps.store.tus,
  }
}
