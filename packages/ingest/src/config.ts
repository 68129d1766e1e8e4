import { baseConfigShape, type Env, parseEnv, portVar, resolvePaths } from '@vpp/shared'
import { z } from 'zod'

/** The ingest service's variables (and the shared ones); see the README's configuration table. */
const shape = {
  ...baseConfigShape,
  /** Port of the upload API. */
  INGEST_PORT: portVar(8000),
  /** Interface to listen on. */
  HOST: z.string().min(1).default('0.0.0.0'),
}

export function loadConfig(env: Env) {
  const config = parseEnv(shape, env)
  return { ...config, ...resolvePaths(config) }
}
export type IngestConfig = ReturnType<typeof loadConfig>
