import type { IngestMetrics, JobStore, Logger, UploadStorage } from '@vpp/shared'
import type { Context } from 'hono'
import type { Registry } from 'prom-client'
import type { TusStorage } from './tus/storage.ts'

/** What the ingest app is built from (main.ts wires the real ones; tests pass their own). */
export interface IngestDeps {
  store: JobStore
  storage: UploadStorage
  logger: Logger
  registry: Registry
  metrics: IngestMetrics
  maxFileSize: number
  /** WATERMARK_MAX_BYTES, WATERMARK_MAX_SIDE and WATERMARK_MAX_PER_KEY; unset: their defaults. */
  watermarkMaxBytes?: number
  watermarkMaxSide?: number
  watermarkMaxPerKey?: number
  /** API keys; empty: no key needed. */
  apiKeys?: readonly string[]
  /** METRICS_TOKEN: the bearer token `/metrics` asks for; unset: open. */
  metricsToken?: string
  /** ADMIN_API_KEYS: keys that also see every job (on status); here they create jobs like any. */
  adminKeys?: readonly string[]
  /** REDIS_MIN_REPLICAS: replicas that must hold a new job's record before its 202. */
  minReplicas?: number
  /** Origins whose pages may upload (CORS_ORIGINS: the console's, an app's); default any. */
  corsOrigins?: readonly string[]
  /** Resumable uploads (tus) at `/uploads`: their storage; unset: no such routes. */
  tus?: TusStorage
  /** Jobs a client may create a minute; 0: no limit. */
  rateLimitPerMinute?: number
  uploadIdleTimeoutMs?: number
  uploadTimeoutMs?: number
  /** Time limit of every request but uploads, body included (REQUEST_TIMEOUT_MS). */
  requestTimeoutMs?: number
  /** URL imports may name private addresses (tests, trusted networks). */
  allowPrivateUrls?: boolean
  /**
   * The addresses a URL import's host name resolves to (a runtime's DNS; tests pass their own);
   * `signal` aborts when the app stops waiting. Unset: host names are checked only when the
   * transcoder connects.
   */
  resolveHost?: (hostname: string, signal?: AbortSignal) => Promise<string[]>
  /** How long a host name may take to resolve before the import is refused (400 invalid_url). */
  resolveTimeoutMs?: number
  /** The peer address of a request (the runtime's conninfo), for per-client rate limits. */
  clientAddress?: (c: Context) => string | undefined
  /**
   * TRUST_PROXY: a reverse proxy is in front, and its X-Forwarded-* headers are believed (tus's
   * Location, the client's address). Off: a client could name any host and address in them.
   */
  trustProxy?: boolean
  /** Clock and id source, replaceable in tests. */
  now?: () => Date
  newId?: () => string
}
