import {
  apiKeysVar,
  baseConfigShape,
  type Env,
  httpConfigShape,
  parseEnv,
  portVar,
  resolvePaths,
} from '@vpp/shared'
import { z } from 'zod'

/** The status service's variables (and the shared ones); see the README's configuration table. */
const shape = {
  ...baseConfigShape,
  ...httpConfigShape,
  /** Port of the status API. */
  STATUS_PORT: portVar(8001),
  /** Interface to listen on. */
  HOST: z.string().min(1).default('0.0.0.0'),
  /** Comma-separated API keys; when set, every route but /healthz and /metrics needs one. */
  API_KEYS: apiKeysVar,
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
  return {
    ...config,
    ...resolvePaths(config),
    publicUrl: config.PUBLIC_URL ?? `http://localhost:${config.STATUS_PORT}`,
  }
}
export type StatusConfig = ReturnType<typeof loadConfig>
