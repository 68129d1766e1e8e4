import {
  apiKeysVar,
  baseConfigShape,
  ConfigError,
  type Env,
  httpConfigShape,
  intVar,
  parseEnv,
  portVar,
  resolvePaths,
  storageConfigShape,
} from '@vpp/shared'
import { z } from 'zod'

/** The status service's variables (and the shared ones); see docs/configuration.md. */
const shape = {
  ...baseConfigShape,
  ...httpConfigShape,
  ...storageConfigShape,
  /** Port of the status API. */
  STATUS_PORT: portVar(8001),
  /** Interface to listen on. */
  HOST: z.string().min(1).default('0.0.0.0'),
  /** Comma-separated API keys; when set, every route but /healthz and /metrics needs one. */
  API_KEYS: apiKeysVar,
  /** Comma-separated admin keys: they also see every job, /stats and the dead-letter queue. */
  ADMIN_API_KEYS: apiKeysVar,
  /**
   * Key of the media URLs' signatures (HMAC-SHA256); required when API keys are on, the same on
   * every status replica. At least 32 characters.
   */
  MEDIA_SIGNING_SECRET: z.string().min(32, 'expected at least 32 characters').optional(),
  /** Seconds a signed media URL is valid. */
  MEDIA_URL_TTL: intVar(21600, 60, 30 * 86400),
  /** S3 without S3_PUBLIC_URL: seconds a presigned GET of an output is valid. */
  S3_PRESIGN_SECONDS: intVar(3600, 60, 7 * 86400),
  /** S3: the endpoint as clients reach it, which presigned URLs name (default S3_ENDPOINT). */
  S3_PRESIGN_ENDPOINT: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional(),
  /** How often an idle SSE stream gets a comment line, so proxies keep it open. */
  SSE_KEEPALIVE_MS: intVar(15_000, 100, 300_000),
  /** Base of the media URLs in job records (default http://localhost:{STATUS_PORT}). */
  PUBLIC_URL: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional(),
  /** Comma-separated origins allowed to fetch media (CORS); `*` for any. */
  CORS_ORIGINS: z
    .string()
    .default('*')
    .transform((text) =>
      text
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    ),
}

/** Every variable this service reads (compose.yaml is checked against it). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(shape)

export function loadConfig(env: Env) {
  const config = parseEnv(shape, env)
  if ((config.API_KEYS.length || config.ADMIN_API_KEYS.length) && !config.MEDIA_SIGNING_SECRET) {
    throw new ConfigError(
      'Invalid configuration: MEDIA_SIGNING_SECRET is required when API_KEYS or ADMIN_API_KEYS is set (media URLs are signed with it; 32+ characters, e.g. openssl rand -hex 32)',
    )
  }
  return {
    ...config,
    ...resolvePaths(config),
    publicUrl: config.PUBLIC_URL ?? `http://localhost:${config.STATUS_PORT}`,
  }
}
export type StatusConfig = ReturnType<typeof loadConfig>
