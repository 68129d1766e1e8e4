import { lookup, Resolver } from 'node:dns/promises'

/** Every address `hostname` resolves to, as the system resolver (getaddrinfo) gives them. */
export async function resolveHost(hostname: string): Promise<string[]> {
  const results = await lookup(hostname, { all: true, verbatim: true })
  return results.map((r) => r.address)
}

/** getaddrinfo calls that may run at once for names DNS does not know (each holds a libuv thread). */
const MAX_SYSTEM_LOOKUPS = 1
let systemLookups = 0

/** DNS answered that there is no such name (or no address of that family). */
const NO_SUCH_NAME = new Set(['ENOTFOUND', 'ENODATA'])

export interface DnsResolverOptions {
  /** Name servers (`ip` or `ip:port`); default: the system's (/etc/resolv.conf). */
  servers?: string[]
  /** Each query's first wait (c-ares doubles it on each retry), and how often it is sent. */
  queryTimeoutMs?: number
  tries?: number
}

/**
 * A resolver of every address a host name has, for a check at the door (ingest's URL imports),
 * that does not tie up libuv's threadpool. `lookup` (getaddrinfo) runs on that pool's 4
 * threads, which file writes (uploads) share, and a slow DNS server keeps a thread for as long
 * as it likes: a race can stop waiting for it, not free the thread. `Resolver` (c-ares) sends
 * the queries from the event loop itself, gives up after its `timeout` and `tries`, and
 * `cancel()` stops it as soon as `signal` aborts. It reads DNS only, though: for a name DNS
 * says does not exist (`localhost`, an /etc/hosts entry, a search-domain short name), the
 * system resolver is asked after all, one such lookup at a time in the process, so it never
 * holds more than one thread. (The transcoder keeps `resolveHost`: the address it connects to
 * must be what the system resolves.)
 */
export function dnsResolver(options: DnsResolverOptions = {}) {
  return async (hostname: string, signal?: AbortSignal): Promise<string[]> => {
    signal?.throwIfAborted()
    const resolver = new Resolver({ timeout: options.queryTimeoutMs ?? 1000, tries: options.tries ?? 2 })
    if (options.servers) resolver.setServers(options.servers)
    const cancel = () => resolver.cancel()
    signal?.addEventListener('abort', cancel, { once: true })
    try {
      const answers = await Promise.allSettled([resolver.resolve4(hostname), resolver.resolve6(hostname)])
      const addresses = answers.flatMap((answer) => (answer.status === 'fulfilled' ? answer.value : []))
      if (addresses.length > 0) return addresses
      const errors = answers.map((answer) => (answer.status === 'rejected' ? answer.reason : undefined))
      const unknown = errors.every((error) => NO_SUCH_NAME.has((error as NodeJS.ErrnoException)?.code ?? ''))
      if (!unknown || systemLookups >= MAX_SYSTEM_LOOKUPS || signal?.aborted) throw errors[0]
      systemLookups++
      try {
        return await resolveHost(hostname)
      } finally {
        systemLookups--
      }
    } finally {
      signal?.removeEventListener('abort', cancel)
    }
  }
}

/** dnsResolver() with the system's name servers: ingest's check of URL imports. */
export const resolveHostByDns = dnsResolver()
