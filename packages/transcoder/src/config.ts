import { availableParallelism, hostname } from 'node:os'
import {
  baseConfigShape,
  boolVar,
  type Env,
  intVar,
  PROFILES,
  parseEnv,
  portVar,
  resolvePaths,
  storageConfigShape,
} from '@vpp/shared'
import { z } from 'zod'
import { memoryLimitMb, threadsPerEncoder } from './retry-policy.ts'

/** The transcoder's variables (and the shared ones); see docs/configuration.md. */
export const configShape = {
  ...baseConfigShape,
  ...storageConfigShape,
  WORKER_CONCURRENCY: intVar(2, 1, 256).describe('jobs one transcoder runs at once'),
  TRANSCODER_METRICS_PORT: portVar(9100).describe('`/metrics` and `/healthz` of a transcoder'),
  /** Interface the metrics endpoint listens on. */
  HOST: z.string().min(1).default('0.0.0.0'),
  FFMPEG_PATH: z.string().min(1).default('ffmpeg').describe('the ffmpeg program to run (found on `PATH`)'),
  FFPROBE_PATH: z.string().min(1).default('ffprobe').describe('the ffprobe program to run (found on `PATH`)'),
  // Unset: ffmpegTimeoutMs scales it.
  FFMPEG_TIMEOUT: z.coerce
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 3600)
    .optional()
    .meta({
      description:
        'seconds one ffmpeg run may take before its process group is killed; unset: 10 s per second of `MAX_DURATION_SECONDS` (never of what an input claims), at least 2 min, at most 12 h',
      default: 'scaled',
    }),
  FFMPEG_STALL_SECONDS: intVar(300, 0, 24 * 3600).describe(
    'an ffmpeg run that reports progress (twice a second) and then reports nothing for this long is killed as hung, and the job retried (`ffmpeg_stalled`); `0`: never',
  ),
  // Unset: threadsPerEncoder, from the cores and WORKER_CONCURRENCY.
  FFMPEG_THREADS: z.coerce.number().int().min(1).max(64).optional().meta({
    description: 'threads per encoder; unset: see ["Threads"](transcoding.md#the-transcoding-engine)',
    default: 'by rule',
  }),
  // Unset: memoryLimitMb, at this transcoder's threads per encoder.
  FFMPEG_MEMORY_LIMIT_MB: z.coerce.number().int().min(0).max(1_048_576).optional().meta({
    description:
      'address space one ffmpeg or ffprobe run may map (`RLIMIT_AS`, set with `prlimit`); over it the job fails `resource_limit`. Unset: 3072 + 384 per thread per encoder (3456 at 1 thread, 6144 at 8), measured for a 4K 60 fps source with about 20 % headroom; an 8K source needs more. `0`: no limit',
    default: 'by rule',
  }),
  FFMPEG_NICE: intVar(10, 0, 19).describe(
    "nice level of ffmpeg (0-19), so the service's own work (heartbeats, HTTP) stays responsive",
  ),
  MAX_ATTEMPTS: intVar(3, 1, 100).describe(
    'attempts before a job is dead-lettered (transient failures, dead workers)',
  ),
  RETRY_BASE_MS: intVar(5000, 1, 24 * 3600_000).describe(
    'first retry delay of the backoff: doubling from it, capped at `RETRY_MAX_MS`, half of each delay random (jitter)',
  ),
  RETRY_MAX_MS: intVar(300_000, 1, 24 * 3600_000).describe(
    'longest retry delay: the cap of the backoff that doubles from `RETRY_BASE_MS`',
  ),
  CLAIM_IDLE_MS: intVar(30_000, 100, 24 * 3600_000).describe(
    'a pending job idle this long belongs to a dead transcoder and is taken over',
  ),
  SICK_AFTER_FAILURES: intVar(3, 1, 1000).describe(
    'infrastructure failures in a row (a full disk, storage unreachable, an encoder missing, ffmpeg killed for memory) that make a transcoder sick: it takes no jobs, hands back the one it holds uncounted, answers `/healthz` 503',
  ),
  SICK_RETRY_MS: intVar(30_000, 100, 3600_000).describe(
    "how often a sick transcoder probes whether it is well again (writes and removes a file in its work volume, HEADs the bucket, lists ffmpeg's encoders); it takes jobs again once the probe passes",
  ),
  DLQ_MAXLEN: intVar(10_000, 0, 10_000_000).describe(
    'most entries the dead-letter queue keeps; older ones are trimmed (their jobs stay `failed`, their uploads stay); `0`: no limit',
  ),
  SHUTDOWN_GRACE_MS: intVar(25_000, 0, 3600_000).describe(
    'on SIGTERM, how long running jobs may take to finish',
  ),
  CHUNK_SECONDS: z.coerce
    .number()
    .min(0)
    .max(600)
    .default(6)
    .describe(
      'seconds of video a chunk aims at: a video of at least two chunks is encoded in chunks that every transcoder takes, playable after its first ones ([transcoding.md](transcoding.md#chunked-encoding)); shorter ones in one run; `0`: always one run',
    ),
  HLS_SEGMENT_SECONDS: intVar(4, 2, 60).describe(
    'target HLS segment length; segments are cut at the 2 s keyframes, so use an even number',
  ),
  STORYBOARD_INTERVAL: z.coerce
    .number()
    .positive()
    .max(3600)
    .optional()
    .meta({ description: 'seconds between storyboard tiles', default: 'about 100 tiles' }),
  TRANSCODE_PROFILES: z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (text === undefined) return PROFILES
      const names = text
        .split(',')
        .map((n) => n.trim())
        .filter(Boolean)
      const unknown = names.filter((n) => !PROFILES.some((p) => p.name === n))
      if (unknown.length > 0 || names.length === 0) {
        ctx.addIssue({
          code: 'custom',
          message: `unknown profile(s) ${unknown.join(', ')}; known: ${PROFILES.map((p) => p.name).join(', ')}`,
        })
        return z.NEVER
      }
      return PROFILES.filter((p) => names.includes(p.name))
    })
    .meta({
      description:
        'comma-separated profiles to produce, e.g. `720p,thumbnail`; `audio` is made only for a job whose `profiles` names it',
      default: 'all',
    }),
  URL_IMPORT_TIMEOUT: intVar(600, 1, 24 * 3600).describe("seconds a URL import's download may take"),
  /** Let URL imports reach private and loopback addresses (tests and trusted networks only). */
  URL_IMPORT_ALLOW_PRIVATE: boolVar(false),
  MAX_DURATION_SECONDS: intVar(4 * 3600, 1, 7 * 24 * 3600).describe(
    'inputs longer than this fail (`duration_too_long`): before any transcoding when the container says so, and after the run when it lies (every input is read a second past the limit at most, `-t`; output past the limit fails the job, nothing published)',
  ),
  MAX_PIXELS: intVar(7680 * 4320, 1, 2 ** 31 - 1).describe(
    "inputs with bigger frames (width x height; default 8K UHD) fail before any decoding, from the container's headers, and again from the probe; also ffprobe's and the decoder's `-max_pixels`",
  ),
  MAX_STREAMS: intVar(16, 1, 1000).describe(
    "inputs with more streams of any kind fail before any decoding (the container's own stream list, read without decoding a frame)",
  ),
  KEEP_ORIGINALS: boolVar(false).describe(
    'keep the upload of a completed job (`original: kept`, fetched with `GET /jobs/{id}/original`) until `OUTPUT_RETENTION_DAYS` or `JOB_RETENTION_DAYS` removes it; off: removed once the renditions are published',
  ),
  JOB_RETENTION_DAYS: z.coerce
    .number()
    .positive()
    .max(36_500)
    .default(30)
    .describe(
      'days a finished (completed, failed, canceled, expired) job is kept after it finished; then it goes as `DELETE /jobs/{id}` would: record, listing entries, idempotency key, dead letter, outputs and kept upload (fractions allowed)',
    ),
  OUTPUT_RETENTION_DAYS: z.coerce.number().positive().max(36_500).optional().meta({
    description:
      "days a completed job's outputs are kept; then they are removed and the job shows `expired` (`outputs: []`, `expired_at`), its record kept until `JOB_RETENTION_DAYS`",
    default: 'off',
  }),
  RETENTION_SWEEP_MS: intVar(60_000, 100, 24 * 3600_000).describe(
    'how often a transcoder tries to sweep; one at a time, under a lock in Redis',
  ),
  CONSUMER_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]+$/)
    .optional()
    .meta({ description: "this transcoder's name in the consumer group", default: '`{hostname}-{pid}`' }),
}

/** Every variable this service reads (compose.yaml is checked against it). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(configShape)

export function loadConfig(env: Env) {
  const config = parseEnv(configShape, env)
  const threads =
    config.FFMPEG_THREADS ?? threadsPerEncoder(availableParallelism(), config.WORKER_CONCURRENCY)
  return {
    ...config,
    ...resolvePaths(config),
    consumerName: config.CONSUMER_NAME ?? `${hostname()}-${process.pid}`,
    profiles: config.TRANSCODE_PROFILES,
    threads,
    memoryLimitMb: config.FFMPEG_MEMORY_LIMIT_MB ?? memoryLimitMb(threads || availableParallelism()),
  }
}
export type TranscoderConfig = ReturnType<typeof loadConfig>
