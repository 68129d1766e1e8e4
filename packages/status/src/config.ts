import {
  apiKeysVar,
  baseConfigShape,
  boolVar,
  ConfigError,
  type Env,
  EVENT_TYPES,
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
  /** Comma-separated URLs sent every job's events (those WEBHOOK_EVENTS selects). */
  WEBHOOK_URLS: z
    .string()
    .default('')
    .transform((text, ctx) => {
      const urls = text
        .split(',')
        .map((u) => u.trim())
        .filter(Boolean)
      for (const url of urls) {
        if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
          ctx.addIssue({ code: 'custom', message: `${url} is not an http(s) URL` })
          return z.NEVER
        }
      }
      return urls
    }),
  /** Key of the webhook signatures, `whsec_<base64>` (Standard Webhooks); required to send any. */
  WEBHOOK_SECRET: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/]{20,}={0,2}$/, 'expected whsec_ followed by 15+ bytes of base64')
    .optional(),
  /** Which events are sent, comma-separated (job.completed, job.failed, ...). */
  WEBHOOK_EVENTS: z
    .string()
    .default('job.completed,job.failed,job.canceled')
    .transform((text, ctx) => {
      const types = text
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean)
      const unknown = types.filter((t) => !(EVENT_TYPES as readonly string[]).includes(t))
      if (unknown.length > 0) {
        ctx.addIssue({
          code: 'custom',
          message: `unknown ${unknown.join(', ')}; known: ${EVENT_TYPES.join(', ')}`,
        })
        return z.NEVER
      }
      return types
    }),
  /** Time one delivery attempt may take. */
  WEBHOOK_TIMEOUT_MS: intVar(10_000, 100, 120_000),
  /** Waits between attempts (`5s,5m,30m,2h,5h,10h`: 7 attempts in all); units ms, s, m, h. */
  WEBHOOK_RETRY_SCHEDULE: z
    .string()
    .default('5s,5m,30m,2h,5h,10h')
    .transform((text, ctx) => {
      const waits = text.split(',').map((part) => durationMs(part.trim()))
      if (waits.some((ms) => ms === null)) {
        ctx.addIssue({ code: 'custom', message: 'expected durations such as 5s,5m,30m,2h' })
        return z.NEVER
      }
      return waits as number[]
    }),
  /** Deliveries in flight at once, per worker (each target at most a quarter of them). */
  WEBHOOK_CONCURRENCY: intVar(32, 1, 1000),
  /** Port of the webhook worker's /metrics and /healthz. */
  WEBHOOK_METRICS_PORT: portVar(9200),
  /** Whether webhooks may go to private, loopback and link-local addresses (as URL imports). */
  URL_IMPORT_ALLOW_PRIVATE: boolVar(false),
  /** How often an idle SSE stream gets a comment line, so proxies keep it open. */
  SSE_KEEPALIVE_MS: intVar(15_000, 100, 300_000),
  /** Base of the media URLs in job records (default http://localhost:{STATUS_PORT}). */
  PUBLIC_URL: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional(),
  /** Where browsers reach ingest, for the console's uploads (default: the page's host, INGEST_PORT). */
  INGEST_PUBLIC_URL: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional(),
  /** Ingest's port: where the console uploads to when INGEST_PUBLIC_URL is unset. */
  INGEST_PORT: portVar(8000),
  /** Whether status serves the web console at `/`. */
  CONSOLE_ENABLED: boolVar(true),
  /**
   * The read cache of job records (`GET /jobs/{id}`, `GET /jobs`): how long status may answer
   * one from memory (RESP3 client tracking drops it sooner when it changes); 0: off. Not with
   * REDIS_SENTINELS (off there).
   */
  STATUS_READ_CACHE_MS: intVar(0, 0, 60_000),
}

/** `500ms`, `5s`, `5m`, `2h` as milliseconds; null when it is none of those. */
function durationMs(text: string): number | null {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text)
  if (!match) return null
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h']
  return Math.round(Number(match[1]) * unit)
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
  if (config.WEBHOOK_URLS.length > 0 && !config.WEBHOOK_SECRET) {
    throw new ConfigError(
      'Invalid configuration: WEBHOOK_SECRET is required when WEBHOOK_URLS is set (webhooks are signed with it; whsec_ and base64, e.g. whsec_$(openssl rand -base64 24))',
    )
  }
  return {
    ...config,
    ...resolvePaths(config),
    publicUrl: config.PUBLIC_URL ?? `http://localhost:${config.STATUS_PORT}`,
  }
}
export type StatusConfig = ReturnType<typeof loadConfig>
