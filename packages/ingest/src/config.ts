import {
  apiKeysVar,
  baseConfigShape,
  boolVar,
  DEFAULT_WATERMARK_MAX_BYTES,
  DEFAULT_WATERMARK_MAX_PER_KEY,
  DEFAULT_WATERMARK_MAX_SIDE,
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
export const configShape = {
  ...baseConfigShape,
  ...storageConfigShape,
  ...httpConfigShape,
  INGEST_PORT: portVar(8000).describe(
    'upload API port (status: where the console uploads when `INGEST_PUBLIC_URL` is unset)',
  ),
  HOST: z.string().min(1).default('0.0.0.0').describe('interface the HTTP servers listen on'),
  API_KEYS: apiKeysVar.describe(
    'comma-separated bearer keys (16+ characters each); when set, every route but `/healthz` and `/metrics` needs one. **Set it in production**',
  ),
  ADMIN_API_KEYS: apiKeysVar.describe(
    'comma-separated admin keys: they also see every job, `/stats` and the dead-letter queue (plain keys see only their own jobs)',
  ),
  REDIS_MIN_REPLICAS: intVar(0, 0, 16).describe(
    "replicas that must hold a new job's record (`WAIT`, up to 1 s) before its 202; else 503 and nothing is kept",
  ),
  RATE_LIMIT_PER_MINUTE: intVar(60, 0, 1_000_000).describe(
    'jobs one client (API key; without keys, peer address) may create a minute; `0`: no limit',
  ),
  UPLOAD_IDLE_TIMEOUT_MS: intVar(30_000, 100, 3600_000).describe(
    'an upload that sends nothing for this long gets 408 and its partial file is deleted',
  ),
  UPLOAD_TIMEOUT_MS: intVar(3600_000, 1000, 24 * 3600_000).describe(
    'longest a whole upload may take, however steadily it trickles',
  ),
  TRUST_PROXY: boolVar(false).describe(
    'behind a reverse proxy only: tus `Location` from `X-Forwarded-Host`/`-Proto` (or `Forwarded`), the client address (rate limits, idempotency) from the last `X-Forwarded-For` entry',
  ),
  URL_IMPORT_ALLOW_PRIVATE: boolVar(false).describe(
    'let URL imports and webhooks reach private/loopback addresses (tests, trusted networks; metadata addresses stay refused)',
  ),
  WATERMARK_MAX_BYTES: intVar(DEFAULT_WATERMARK_MAX_BYTES, 1024, 16 * 1024 * 1024).describe(
    'largest watermark PNG, in bytes (a `watermark_image` part, `POST /watermarks`); past it: 413 `watermark_too_large`',
  ),
  WATERMARK_MAX_PER_KEY: intVar(DEFAULT_WATERMARK_MAX_PER_KEY, 1, 100_000).describe(
    'most watermark images one API key keeps (`POST /watermarks`; without keys, all of them together); past it: 409 `watermark_limit`',
  ),
  WATERMARK_MAX_SIDE: intVar(DEFAULT_WATERMARK_MAX_SIDE, 16, 8192).describe(
    "largest watermark PNG's width and height, in pixels (read from its IHDR); past it: 400 `invalid_watermark`",
  ),
  UPLOAD_EXPIRY_HOURS: z.coerce
    .number()
    .positive()
    .max(24 * 365)
    .default(24)
    .describe('hours a resumable (tus) upload may stay unfinished before it is removed'),
}

/** Every variable this service reads (compose.yaml is checked against it). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(configShape)

export function loadConfig(env: Env) {
  const config = parseEnv(configShape, env)
  return { ...config, ...resolvePaths(config) }
}
export type IngestConfig = ReturnType<typeof loadConfig>
