import {
  apiKeysVar,
  baseConfigShape,
  boolVar,
  type Env,
  httpConfigShape,
  intVar,
  parseEnv,
  portVar,
  resolvePaths,
  storageConfigShape,
} from '@vpp/shared'
import { z } from 'zod'

/** The ingest service's variables (and the shared ones); see docs/configuration.md. */
const shape = {
  ...baseConfigShape,
  ...storageConfigShape,
  ...httpConfigShape,
  /** Port of the upload API. */
  INGEST_PORT: portVar(8000),
  /** Interface to listen on. */
  HOST: z.string().min(1).default('0.0.0.0'),
  /** Comma-separated API keys; when set, every route but /healthz and /metrics needs one. */
  API_KEYS: apiKeysVar,
  /** Comma-separated admin keys: they also see every job, /stats and the dead-letter queue. */
  ADMIN_API_KEYS: apiKeysVar,
  /**
   * Replicas that must hold a job's record before its 202 (`WAIT`); when they do not within a
   * second, ingest answers 503 and keeps nothing. 0: answer once the primary has it.
   */
  REDIS_MIN_REPLICAS: intVar(0, 0, 16),
  /** Jobs one client (API key, or address without keys) may create a minute; 0 turns the limit off. */
  RATE_LIMIT_PER_MINUTE: intVar(60, 0, 1_000_000),
  /** An upload that sends nothing for this long is dropped (408) and its partial file deleted. */
  UPLOAD_IDLE_TIMEOUT_MS: intVar(30_000, 100, 3600_000),
  /** Longest a whole upload may take, however steadily it trickles in. */
  UPLOAD_TIMEOUT_MS: intVar(3600_000, 1000, 24 * 3600_000),
  /**
   * Behind a reverse proxy: tus's Location from X-Forwarded-Host/-Proto (or Forwarded), and the
   * client's address (rate limits) from X-Forwarded-For. Off: both from the connection itself.
   */
  TRUST_PROXY: boolVar(false),
  /** Let URL imports reach private and loopback addresses (tests and trusted networks only). */
  URL_IMPORT_ALLOW_PRIVATE: boolVar(false),
  /** Hours a resumable upload may stay unfinished before it is removed. */
  UPLOAD_EXPIRY_HOURS: z.coerce
    .number()
    .positive()
    .max(24 * 365)
    .default(24),
}

/** Every variable this service reads (compose.yaml is checked against it). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(shape)

export function loadConfig(env: Env) {
  const config = parseEnv(shape, env)
  return { ...config, ...resolvePaths(config) }
}
export type IngestConfig = ReturnType<typeof loadConfig>
