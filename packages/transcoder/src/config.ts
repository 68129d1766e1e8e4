import { hostname } from 'node:os'
import { baseConfigShape, type Env, intVar, parseEnv, portVar, resolvePaths } from '@vpp/shared'
import { z } from 'zod'

/** The transcoder's variables (and the shared ones); see the README's configuration table. */
const shape = {
  ...baseConfigShape,
  /** Jobs this transcoder runs at once. */
  WORKER_CONCURRENCY: intVar(2, 1, 64),
  /** Port of this transcoder's /metrics and /healthz. */
  TRANSCODER_METRICS_PORT: portVar(9100),
  /** Interface the metrics endpoint listens on. */
  HOST: z.string().min(1).default('0.0.0.0'),
  FFMPEG_PATH: z.string().min(1).default('ffmpeg'),
  FFPROBE_PATH: z.string().min(1).default('ffprobe'),
  /** Longest one ffmpeg run may take, in seconds, before its process group is killed. */
  FFMPEG_TIMEOUT: intVar(3600, 1, 7 * 24 * 3600),
  /** Longest a URL import's download may take, in seconds. */
  URL_IMPORT_TIMEOUT: intVar(600, 1, 24 * 3600),
  /** Name of this consumer in the stream's consumer group; unique per running transcoder. */
  CONSUMER_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]+$/)
    .optional(),
}

export function loadConfig(env: Env) {
  const config = parseEnv(shape, env)
  return {
    ...config,
    ...resolvePaths(config),
    consumerName: config.CONSUMER_NAME ?? `${hostname()}-${process.pid}`,
  }
}
export type TranscoderConfig = ReturnType<typeof loadConfig>
