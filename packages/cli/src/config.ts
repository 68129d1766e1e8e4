import { homedir } from 'node:os'
import { join } from 'node:path'
import type { ClientOptions } from '@vpp/client'
import { UsageError } from './usage.ts'

export interface CliConfig {
  client: ClientOptions
  /** Where unfinished uploads are remembered, to resume them. */
  uploadsFile: string
}

/**
 * The CLI's settings, all from the environment: VPP_INGEST_URL and VPP_STATUS_URL (defaults:
 * the services on this machine), VPP_API_KEY when the pipeline has keys, and XDG_STATE_HOME
 * (default ~/.local/state) for the resume file. The one place the environment is read.
 */
export function loadConfig(env: Record<string, string | undefined>): CliConfig {
  const url = (name: string, fallback: string) => {
    const value = env[name] || fallback
    if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) {
      throw new UsageError(`${name} must be an http:// or https:// URL (got ${JSON.stringify(value)})`)
    }
    return value
  }
  const client: ClientOptions = {
    ingestUrl: url('VPP_INGEST_URL', 'http://localhost:8000'),
    statusUrl: url('VPP_STATUS_URL', 'http://localhost:8001'),
  }
  if (env.VPP_API_KEY) client.apiKey = env.VPP_API_KEY
  const state = env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state')
  return { client, uploadsFile: join(state, 'vpp', 'uploads.json') }
}
