import type { LookupFunction } from 'node:net'
import { isIP } from 'node:net'
import { type AddressPolicy, checkResolved } from '../security/url-policy.ts'
import { resolveHost } from './resolve-host.ts'

/**
 * A `lookup` for http.request that resolves the host itself, refuses it unless every address is
 * `allowed`, and hands back exactly the checked addresses: the socket connects to one of them, so
 * DNS rebinding cannot swap it (URL imports, webhook deliveries). `resolve`: the system resolver
 * by default (tests pass their own).
 */
export function pinnedLookup(
  allowed: AddressPolicy,
  resolve: (hostname: string) => Promise<string[]> = resolveHost,
): LookupFunction {
  return (hostname, lookupOptions, callback) => {
    resolve(hostname).then(
      (addresses) => {
        try {
          checkResolved(hostname, addresses, allowed)
        } catch (error) {
          return callback(error as NodeJS.ErrnoException, '', 0)
        }
        const family = (address: string) => isIP(address)
        if (lookupOptions.all) {
          callback(
            null,
            addresses.map((address) => ({ address, family: family(address) })),
          )
        } else {
          const first = addresses.find((a) => !lookupOptions.family || family(a) === lookupOptions.family)
          if (!first)
            return callback(
              Object.assign(new Error(`no IPv${lookupOptions.family} address`), { code: 'ENOTFOUND' }),
              '',
              0,
            )
          callback(null, first, family(first))
        }
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    )
  }
}
