/**
 * Where the console's calls go, and with which key: `console/config.json` from status (which
 * serves this page), the key kept in sessionStorage (gone with the tab), the typed client.
 */
import { createClient, type JobStatus, type VppClient } from '@vpp/client'

export interface ConsoleConfig {
  ingest_url: string | null
  ingest_port: number
  keys: boolean
  profiles: string[]
  statuses: JobStatus[]
}

const KEY = 'vpp.apiKey'

export async function loadConfig(): Promise<ConsoleConfig> {
  const res = await fetch('console/config.json')
  if (!res.ok) throw new Error(`console/config.json answered ${res.status}`)
  return (await res.json()) as ConsoleConfig
}

/** Status is where this page came from (a path prefix kept); ingest is configured, or on this host. */
export function clientFor(config: ConsoleConfig, apiKey: string | undefined): VppClient {
  const statusUrl = new URL('.', location.href).href
  const ingestUrl = config.ingest_url ?? `${location.protocol}//${location.hostname}:${config.ingest_port}`
  return createClient({ ingestUrl, statusUrl, apiKey })
}

export const storedKey = (): string | undefined => sessionStorage.getItem(KEY) ?? undefined
export const storeKey = (key: string) => sessionStorage.setItem(KEY, key)
export const forgetKey = () => sessionStorage.removeItem(KEY)
