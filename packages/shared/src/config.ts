import { z } from 'zod'
import { ConfigError } from './api/errors.ts'

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
}

/**
 * Parse a human size: plain bytes (`1048576`) or a number with a binary unit (`500MB`, `1GB`,
 * `1.5 GiB`). Returns undefined when the text is not a size.
 */
export function parseSize(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text)
  if (!match) return undefined
  const unit = SIZE_UNITS[(match[2] ?? '').toLowerCase()]
  if (unit === undefined) return undefined
  const bytes = Math.floor(Number(match[1]) * unit)
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined
}

/** A size variable: `500MB`, `1GB` or plain bytes. */
export const sizeVar = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const bytes = parseSize(text)
      if (bytes === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `expected a size like 500MB, 1GB or a byte count`,
        })
        return z.NEVER
      }
      return bytes
    })

/** An integer variable within bounds. */
export const intVar = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback)

/** A true/false variable (`true`/`false`, `1`/`0`, `yes`/`no`). */
export const boolVar = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expected true or false' })
    .optional()
    .transform((text) => (text === undefined ? fallback : ['true', '1', 'yes'].includes(text)))
    // The default as docs/configuration.md shows it (the transform hides it from the schema).
    .meta({ default: `\`${fallback}\`` })

/**
 * API_KEYS: comma-separated bearer keys; empty means no key is required (local use). Each key is
 * at least 16 characters of the token alphabet (letters, digits, `-._~+/`, trailing `=`).
 */
export const apiKeysVar = z
  .string()
  .optional()
  .transform((text, ctx) => {
    const keys = (text ?? '')
      .split(',')
      .map((k) => k.trim())
      .filter(Boolean)
    if (keys.some((k) => k.length < 16 || !/^[A-Za-z0-9._~+/-]+=*$/.test(k))) {
      ctx.addIssue({
        code: 'custom',
        message: 'each key must be 16+ characters of A-Z a-z 0-9 - . _ ~ + / =',
      })
      return z.NEVER
    }
    return keys
  })

/** A TCP port; 0 asks the OS for a free one (tests). */
export const portVar = (fallback: number) => intVar(fallback, 0, 65535)

/** Variables every service reads. Defaults are the local-development values. */
export const baseConfigShape = {
  REDIS_URL: z
    .url({ protocol: /^rediss?$/, error: 'expected a redis:// or rediss:// URL' })
    .default('redis://localhost:6379')
    .describe('Redis connection. Unset under `npm start`: a private redis-server is started'),
  REDIS_SENTINELS: z
    .string()
    .optional()
    .transform((text, ctx) => {
      const nodes = (text ?? '')
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean)
        .map((item) => {
          const match = /^([^:\s]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(item)
          const port = Number(match?.[2])
          if (!match || port < 1 || port > 65535) {
            ctx.addIssue({ code: 'custom', message: `expected host:port, got "${item}"` })
            return { host: '', port: 0 }
          }
          return { host: (match[1] as string).replace(/^\[|\]$/g, ''), port }
        })
      return nodes.length ? nodes : undefined
    })
    .describe(
      'Redis Sentinel instead of `REDIS_URL`: comma-separated `host:port` of the sentinels; the services follow the primary through failovers ([operations](operations.md#redis-high-availability))',
    ),
  REDIS_SENTINEL_MASTER: z
    .string()
    .min(1)
    .default('mymaster')
    .describe('the name the sentinels monitor the primary under'),
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only')
    .default('vpp')
    .describe('prefix of every Redis key (several pipelines can share a Redis)'),
  REDIS_COMMAND_TIMEOUT_MS: intVar(5000, 100, 600_000).describe(
    'longest one Redis command waits for its answer; the connection is pinged every third of it and re-opened when silent twice that long',
  ),
  EVENTS_MAXLEN: intVar(100_000, 1000, 100_000_000).describe(
    'about how many entries the job event log keeps (SSE resume, webhooks)',
  ),
  DATA_DIR: z
    .string()
    .min(1)
    .default('./data')
    .describe("root of uploads, outputs and the private Redis's data"),
  UPLOAD_DIR: z.string().min(1).optional().meta({
    description: 'where uploads are stored, as `{job_id}` (removed once the job completes)',
    default: '`DATA_DIR/uploads`',
  }),
  OUTPUT_DIR: z.string().min(1).optional().meta({
    description: 'renditions, as `{job_id}/{profile}.{mp4,webm,jpg}`',
    default: '`DATA_DIR/output`',
  }),
  MAX_FILE_SIZE: sizeVar('500MB').describe(
    'largest upload or URL import: `500MB`, `1GB`, `1.5GiB` or bytes (binary units)',
  ),
  METRICS_TOKEN: z
    .string()
    .regex(/^[A-Za-z0-9._~+/-]{16,}=*$/, 'expected 16+ characters of A-Z a-z 0-9 - . _ ~ + / =')
    .optional()
    .describe(
      'bearer token `/metrics` asks for (`Authorization: Bearer <token>`, 16+ characters; else 401); unset: open. Prometheus sends it from a file ([operations](operations.md#metrics-and-alerts))',
    ),
  LOG_FORMAT: z.enum(['json', 'pretty']).optional().meta({
    description: '`json` lines or `pretty`; default: pretty on a terminal, JSON otherwise',
    default: 'auto',
  }),
  LOG_LEVEL: z
    .enum(['silent', 'error', 'warn', 'info', 'debug'])
    .default('info')
    .describe('`silent`, `error`, `warn`, `info`, `debug`'),
}

/** Variables of the HTTP services (ingest and status). */
export const httpConfigShape = {
  REQUEST_TIMEOUT_MS: intVar(10_000, 100, 600_000).describe(
    "longest an ordinary request may take, body included (408 `request_timeout`); uploads have their own limits. On Node a request's head must arrive within it",
  ),
  CORS_ORIGINS: z
    .string()
    .default('*')
    .transform((text) =>
      text
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    )
    .describe('comma-separated origins whose pages may upload and fetch media (CORS)'),
}

/** Where uploads and renditions are kept (ingest and transcoder): local disk, or an S3 bucket. */
export const storageConfigShape = {
  STORAGE_BACKEND: z
    .enum(['local', 's3'])
    .default('local')
    .describe('`local` (`UPLOAD_DIR`, `OUTPUT_DIR`) or `s3` (the bucket below)'),
  S3_ENDPOINT: z
    .url({ protocol: /^https?$/, error: 'expected an http(s) URL' })
    .optional()
    .meta({ description: 'an S3-compatible server, e.g. `http://minio:9000`', default: 'AWS' }),
  S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'expected an S3 bucket name')
    .optional()
    .describe('bucket for `uploads/{id}` and `outputs/{job_id}/…`; required with `s3`'),
  S3_REGION: z.string().min(1).default('us-east-1').describe('region'),
  S3_FORCE_PATH_STYLE: z
    .enum(['true', 'false'], { error: 'expected true or false' })
    .optional()
    .transform((text) => (text === undefined ? undefined : text === 'true'))
    .meta({
      description: '`endpoint/bucket/key` addressing (MinIO and most S3-compatible servers)',
      default: 'on with `S3_ENDPOINT`',
    }),
  S3_PUBLIC_URL: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe(
      "base of each output's `url` when the bucket is public (or behind a CDN); unset: status gives presigned GETs",
    ),
  AWS_ACCESS_KEY_ID: z.string().min(1).optional().meta({
    description: "S3 credentials, the key id; unset: the AWS SDK's default chain (profiles, instance roles)",
    default: 'SDK chain',
  }),
  AWS_SECRET_ACCESS_KEY: z.string().min(1).optional().meta({
    description: 'S3 credentials, the secret key, with `AWS_ACCESS_KEY_ID`',
    default: 'SDK chain',
  }),
}

export type Env = Record<string, string | undefined>

/** Variables whose values must not appear in messages or logs. */
const SECRET_NAME = /KEY|SECRET|PASSWORD|TOKEN/

/**
 * Parse the variables of `shape` from `env` (empty strings count as unset). A bad value throws a
 * ConfigError whose message names every bad variable and why.
 */
export function parseEnv<S extends z.ZodRawShape>(shape: S, env: Env): z.infer<z.ZodObject<S>> {
  const input: Record<string, string> = {}
  for (const key of Object.keys(shape)) {
    const value = env[key]
    if (value !== undefined && value.trim() !== '') input[key] = value.trim()
  }
  const result = z.object(shape).safeParse(input)
  if (result.success) return result.data
  const problems = result.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? '?')
    // Secrets are named, never echoed.
    const shown = SECRET_NAME.test(name) ? '(hidden)' : JSON.stringify(input[name] ?? '')
    return `${name}=${shown}: ${issue.message}`
  })
  throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`)
}

export interface Paths {
  dataDir: string
  uploadDir: string
  outputDir: string
}

/** Resolve UPLOAD_DIR / OUTPUT_DIR against DATA_DIR (kept as given, joined with '/'). */
export function resolvePaths(config: { DATA_DIR: string; UPLOAD_DIR?: string; OUTPUT_DIR?: string }): Paths {
  const dataDir = config.DATA_DIR.replace(/\/+$/, '') || '/'
  return {
    dataDir,
    uploadDir: config.UPLOAD_DIR ?? `${dataDir}/uploads`,
    outputDir: config.OUTPUT_DIR ?? `${dataDir}/output`,
  }
}
