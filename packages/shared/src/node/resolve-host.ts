import { lookup } from 'node:dns/promises'

/** Every address `hostname` resolves to, as the system resolver (getaddrinfo) gives them. */
export async function resolveHost(hostname: string): Promise<string[]> {
  const results = await lookup(hostname, { all: true, verbatim: true })
  return results.map((r) => r.address)
}
