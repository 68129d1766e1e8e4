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
export const configShape = {
  ...baseConfigShape,
  ...httpConfigShape,
  ...storageConfigShape,
  STATUS_PORT: portVar(8001).describe('status API port'),
  /** Interface to listen on. */
  HOST: z.string().min(1).default('0.0.0.0'),
  /** Comma-separated API keys; when set, every route but /healthz and /metrics needs one. */
  API_KEYS: apiKeysVar,
  /** Comma-separated admin keys: they also see every job, /stats and the dead-letter queue. */
  ADMIN_API_KEYS: apiKeysVar,
  MEDIA_SIGNING_SECRET: z
    .string()
    .min(32, 'expected at least 32 characters')
    .optional()
    .describe(
      "key of the media URLs' HMAC signatures, 32+ characters; **required** when `API_KEYS` or `ADMIN_API_KEYS` is set, the same on every status replica",
    ),
  MEDIA_URL_TTL: intVar(21600, 60, 30 * 86400).describe('seconds a signed media URL is valid'),
  ORIGINAL_URL_TTL: intVar(300, 1, 7 * 86400).describe(
    'seconds the URL `GET /jobs/{id}/original` gives out is valid (a presigned GET with S3, a signed `/originals/…` URL with local storage)',
  ),
  S3_PRESIGN_SECONDS: intVar(3600, 60, 7 * 86400).describe('how long a presigned GET of an output is valid'),
  S3_PRESIGN_ENDPOINT: z
    .url({ protocol: /^https?$/, error: 'expected an http(s) URL' })
    .optional()
    .meta({
      description: 'the S3 endpoint as clients reach it, which presigned URLs name',
      default: '`S3_ENDPOINT`',
    }),
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
    })
    .describe("comma-separated URLs sent every job's events (those `WEBHOOK_EVENTS` selects)"),
  WEBHOOK_SECRET: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/]{20,}={0,2}$/, 'expected whsec_ followed by 15+ bytes of base64')
    .optional()
    .describe(
      '`whsec_<base64>` key of the Standard Webhooks signatures; required with `WEBHOOK_URLS`; without it nothing is sent',
    ),
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
    })
    .describe('the event types sent'),
  WEBHOOK_TIMEOUT_MS: intVar(10_000, 100, 120_000).describe('time one attempt may take'),
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
    })
    .describe('waits before each further attempt (units `ms`, `s`, `m`, `h`)'),
  WEBHOOK_CONCURRENCY: intVar(32, 1, 1000).describe(
    'attempts in flight per worker (a target at most a quarter)',
  ),
  WEBHOOK_METRICS_PORT: portVar(9200).describe("the worker's `/metrics` and `/healthz`"),
  /** Whether webhooks may go to private, loopback and link-local addresses (as URL imports). */
  URL_IMPORT_ALLOW_PRIVATE: boolVar(false),
  SSE_KEEPALIVE_MS: intVar(15_000, 100, 300_000).describe('how often a quiet SSE stream gets a comment line'),
  PUBLIC_URL: z
    .url({ protocol: /^https?$/, error: 'expected an http(s) URL' })
    .optional()
    .meta({
      description: 'base of the media URLs in job records: the address clients reach the status service at',
      default: '`http://localhost:{STATUS_PORT}`',
    }),
  INGEST_PUBLIC_URL: z
    .url({ protocol: /^https?$/, error: 'expected an http(s) URL' })
    .optional()
    .meta({
      description: "where browsers reach ingest: the web console's uploads go there",
      default: "the page's host, `INGEST_PORT`",
    }),
  /** Ingest's port: where the console uploads to when INGEST_PUBLIC_URL is unset. */
  INGEST_PORT: portVar(8000),
  CONSOLE_ENABLED: boolVar(true).describe(
    'serve the web console at `/` (`npm run build:console` builds it; `npm start` does so first)',
  ),
  RENDER_CONCURRENCY: intVar(2, 1, 64).describe(
    'on-demand renders (thumbnails at a time, animated previews) one status process runs at once',
  ),
  RENDER_QUEUE: intVar(8, 0, 1000).describe(
    'renders that wait for a slot, each up to 5 s; past them: 503 `render_busy`',
  ),
  RENDER_RATE_PER_MINUTE: intVar(60, 0, 100_000).describe(
    'renders not made yet a key may ask for a minute (signed URLs: counted to the job owner; `0`: no limit); past it: 429 `rate_limited`',
  ),
  RENDER_MAX_PER_JOB: intVar(200, 1, 100_000).describe(
    'distinct renders kept per job; past it: 429 `render_limit`',
  ),
  STATUS_READ_CACHE_MS: intVar(0, 0, 60_000).describe(
    'read cache of job records (`GET /jobs/{id}`, `GET /jobs`): ms status may answer one from memory (`0`: off), dropped sooner when it changes (RESP3 client tracking). Off with `REDIS_SENTINELS`; see [API](api.md#read-cache)',
  ),
  CAPTIONS_MAX_BYTES: intVar(1024 * 1024, 1024, 16 * 1024 * 1024).describe(
    'largest caption file (WebVTT or SRT) `POST /jobs/{job_id}/captions` takes, in bytes (413 past it)',
  ),
  MAX_CAPTION_TRACKS: intVar(20, 1, 100).describe(
    'most caption tracks a job may have (409 `caption_limit` past it)',
  ),
}

/** `500ms`, `5s`, `5m`, `2h` as milliseconds; null when it is none of those. */
function durationMs(text: string): number | null {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text)
  if (!match) return null
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h']
  return Math.round(Number(match[1]) * unit)
}

/** Every variable this service reads (compose.yaml is checked against it). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(configShape)

export function loadConfig(env: Env) {
  const config = parseEnv(configShape, env)
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
