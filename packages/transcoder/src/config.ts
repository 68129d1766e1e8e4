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
const shape = {
  ...baseConfigShape,
  ...storageConfigShape,
  /** Jobs this transcoder runs at once. */
  WORKER_CONCURRENCY: intVar(2, 1, 256),
  /** Port of this transcoder's /metrics and /healthz. */
  TRANSCODER_METRICS_PORT: portVar(9100),
  /** Interface the metrics endpoint listens on. */
  HOST: z.string().min(1).default('0.0.0.0'),
  FFMPEG_PATH: z.string().min(1).default('ffmpeg'),
  FFPROBE_PATH: z.string().min(1).default('ffprobe'),
  /**
   * Longest one ffmpeg run may take, in seconds, before its process group is killed. Unset: scaled
   * by the input's duration (see ffmpegTimeoutMs).
   */
  FFMPEG_TIMEOUT: z.coerce
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 3600)
    .optional(),
  /**
   * Seconds an ffmpeg run that reports progress may go without a report (it reports twice a
   * second) before it is killed as hung and the job retried (`ffmpeg_stalled`). 0: never.
   */
  FFMPEG_STALL_SECONDS: intVar(300, 0, 24 * 3600),
  /** Threads per ffmpeg encoder; unset: chosen from the cores and WORKER_CONCURRENCY (threadsPerEncoder). */
  FFMPEG_THREADS: z.coerce.number().int().min(1).max(64).optional(),
  /**
   * Memory one ffmpeg or ffprobe run may map, in MB (its address space, RLIMIT_AS): over it,
   * allocations fail and the job fails `resource_limit`. Unset: sized for a 4K 60 fps source at
   * this transcoder's threads per encoder (memoryLimitMb). 0: no limit.
   */
  FFMPEG_MEMORY_LIMIT_MB: z.coerce.number().int().min(0).max(1_048_576).optional(),
  /** Nice level of ffmpeg (0-19): encoding yields the CPU to the service's own work first. */
  FFMPEG_NICE: intVar(10, 0, 19),
  /** Attempts a job gets before it is dead-lettered (transient failures only). */
  MAX_ATTEMPTS: intVar(3, 1, 100),
  /** First retry delay; each later one doubles, with jitter, up to RETRY_MAX_MS. */
  RETRY_BASE_MS: intVar(5000, 1, 24 * 3600_000),
  RETRY_MAX_MS: intVar(300_000, 1, 24 * 3600_000),
  /** A pending entry idle this long belongs to a dead transcoder and is taken over (XAUTOCLAIM). */
  CLAIM_IDLE_MS: intVar(30_000, 100, 24 * 3600_000),
  /**
   * Infrastructure failures in a row (disk full, storage unreachable, an encoder missing, ffmpeg
   * killed for memory) that make this transcoder sick: it stops taking jobs, hands back the one it
   * holds uncounted, and answers /healthz 503 until its probe passes.
   */
  SICK_AFTER_FAILURES: intVar(3, 1, 1000),
  /** How often a sick transcoder probes whether it is well again (room on disk, storage, encoders). */
  SICK_RETRY_MS: intVar(30_000, 100, 3600_000),
  /** Most entries the dead-letter stream keeps; older ones are trimmed (their jobs stay `failed`). 0: no limit. */
  DLQ_MAXLEN: intVar(10_000, 0, 10_000_000),
  /** On SIGTERM, how long running jobs may take to finish before their ffmpeg is killed. */
  SHUTDOWN_GRACE_MS: intVar(25_000, 0, 3600_000),
  /**
   * Seconds of video a chunk aims at: a video of at least two chunks is encoded in chunks that
   * every transcoder takes (docs/transcoding.md); shorter ones in one run. 0: always one run.
   */
  CHUNK_SECONDS: z.coerce.number().min(0).max(600).default(6),
  /** Target length of an HLS segment, seconds (segments are cut at the 2 s keyframes: use an even number). */
  HLS_SEGMENT_SECONDS: intVar(4, 2, 60),
  /** Seconds between two storyboard tiles; unset: about 100 tiles for the whole video (at least 1 s apart). */
  STORYBOARD_INTERVAL: z.coerce.number().positive().max(3600).optional(),
  /** Comma-separated profile names to produce (default: every profile of the table). */
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
    }),
  /** Longest a URL import's download may take, in seconds. */
  URL_IMPORT_TIMEOUT: intVar(600, 1, 24 * 3600),
  /** Let URL imports reach private and loopback addresses (tests and trusted networks only). */
  URL_IMPORT_ALLOW_PRIVATE: boolVar(false),
  /** Inputs longer than this (ffprobe's duration) fail before any transcoding. */
  MAX_DURATION_SECONDS: intVar(4 * 3600, 1, 7 * 24 * 3600),
  /** Inputs with more pixels a frame (width x height) fail before any transcoding; default 8K UHD. */
  MAX_PIXELS: intVar(7680 * 4320, 1, 2 ** 31 - 1),
  /** Inputs with more streams (video, audio, subtitles, data) fail before any transcoding. */
  MAX_STREAMS: intVar(16, 1, 1000),
  /**
   * Days a finished (completed, failed, canceled, expired) job's record is kept after it
   * finished; then it goes as DELETE /jobs/{id} would: record, index entries, idempotency key,
   * dead letter, outputs and kept upload. Fractions allowed.
   */
  JOB_RETENTION_DAYS: z.coerce.number().positive().max(36_500).default(30),
  /** Days a completed job's outputs are kept; then they are removed and the job is `expired`. Unset: kept. */
  OUTPUT_RETENTION_DAYS: z.coerce.number().positive().max(36_500).optional(),
  /** How often a transcoder tries to sweep (one at a time, under a lock in Redis). */
  RETENTION_SWEEP_MS: intVar(60_000, 100, 24 * 3600_000),
  /** Name of this consumer in the stream's consumer group; unique per running transcoder. */
  CONSUMER_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]+$/)
    .optional(),
}

/** Every variable this service reads (compose.yaml is checked against it). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(shape)

export function loadConfig(env: Env) {
  const config = parseEnv(shape, env)
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
