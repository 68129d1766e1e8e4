import ipaddr from 'ipaddr.js'
import { PermanentJobError } from '../api/errors.ts'

/**
 * URL imports fetch what a stranger names, from inside our network. These checks keep them to the
 * public internet: http(s) only, no credentials, and only addresses in ipaddr.js's `unicast`
 * range (so never loopback, private, link-local, CGNAT, multicast, unspecified, reserved, IPv6
 * forms that carry one of those, or cloud metadata addresses).
 */

/** Metadata services that sit on otherwise ordinary-looking addresses. */
const METADATA_ADDRESSES = new Set(['169.254.169.254', '169.254.170.2', '100.100.100.200', 'fd00:ec2::254'])

/**
 * IPv6 forms that carry an IPv4 address. These two reach exactly the address they carry, so they
 * are judged as it: IPv4-mapped (a dual-stack socket connects over IPv4) and the NAT64
 * well-known prefix (the translator connects to it; RFC 6052 puts it in the last 32 bits).
 */
const CARRY_IPV4 = ['::ffff:0:0/96', '64:ff9b::/96'].map((cidr) => ipaddr.IPv6.parseCIDR(cidr))
/**
 * These are refused whatever they carry: where their packets go depends on the tunnels and
 * relays of the network, not on the address checked, and no video needs them. IPv4-compatible
 * (deprecated, RFC 4291; `[::127.0.0.1]` parses to `[::7f00:1]`, which ipaddr.js calls unicast),
 * IPv4-translated (SIIT), local-use NAT64 (its prefix length, so where the IPv4 address sits, is
 * the network's), 6to4 (deprecated, RFC 7526) and Teredo.
 */
const TUNNELLED = ['::/96', '::ffff:0:0:0/96', '64:ff9b:1::/48', '2002::/16', '2001::/32'].map((cidr) =>
  ipaddr.IPv6.parseCIDR(cidr),
)

/**
 * The address a connection to `address` (an IP literal) reaches as far as we can tell: itself,
 * the IPv4 address a mapped or NAT64 one carries, or null for a tunnelled form (refused).
 */
function destination(address: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  if (ipaddr.IPv4.isValidFourPartDecimal(address)) return ipaddr.IPv4.parse(address)
  // ipaddr.js reads `::1.2.3.4` as `::ffff:1.2.3.4`; the URL parser (as inet_pton) reads it as
  // `::102:304`, the address a connection goes to: IPv6 with a dotted tail is read by the latter.
  const canonical = address.split('%')[0]?.includes('.') ? canonicalIPv6(address) : address
  if (canonical === null) return null
  const v6 = ipaddr.IPv6.parse(canonical)
  if (CARRY_IPV4.some((prefix) => v6.match(prefix))) {
    return new ipaddr.IPv4(v6.toByteArray().slice(12))
  }
  // `::` and `::1` sit in ::/96 too: ipaddr.js's unspecified and loopback decide about them.
  const range = v6.range()
  if (range !== 'unspecified' && range !== 'loopback' && TUNNELLED.some((prefix) => v6.match(prefix))) {
    return null
  }
  return v6
}

/** `::1.2.3.4` -> `::102:304`, as the WHATWG URL parser writes it; null when it is not one. */
function canonicalIPv6(address: string): string | null {
  const url = `http://[${address}]/`
  return URL.canParse(url) ? new URL(url).hostname.slice(1, -1) : null
}

export const urlNotAllowed = (message: string) =>
  new PermanentJobError('url_not_allowed', message, { status: 400 })

/** True when `address` (an IP literal) is a public unicast address a URL import may connect to. */
export function isPublicAddress(address: string): boolean {
  const reached = isIpLiteral(address) ? destination(address) : null
  return reached !== null && reached.range() === 'unicast' && !METADATA_ADDRESSES.has(reached.toString())
}

/** Cloud metadata endpoints, in any form that reaches them: refused even when private addresses are allowed. */
export function isMetadataAddress(address: string): boolean {
  const reached = isIpLiteral(address) ? destination(address) : null
  return reached !== null && METADATA_ADDRESSES.has(reached.toString())
}

/** Decides whether a resolved address may be connected to. */
export type AddressPolicy = (address: string) => boolean

/**
 * The policy of URL_IMPORT_ALLOW_PRIVATE: public unicast addresses only, or (true, for tests and
 * trusted networks) any address but a cloud metadata endpoint or a tunnelled IPv6 form.
 */
export const addressPolicy = (allowPrivate: boolean): AddressPolicy =>
  allowPrivate
    ? (address) => isIpLiteral(address) && destination(address) !== null && !isMetadataAddress(address)
    : isPublicAddress

/** An IP address in the canonical form URL host names are normalised to (not a DNS name). */
export const isIpLiteral = (host: string) =>
  ipaddr.IPv4.isValidFourPartDecimal(host) || ipaddr.IPv6.isValid(host)

/** The host of a URL without IPv6 brackets: `[::1]` -> `::1`. */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1')
}

/**
 * What can be decided from the URL alone: the scheme, credentials, and an IP-literal host
 * (the WHATWG parser has already turned `0x7f.1` or `2130706433` into `127.0.0.1`). Host names
 * are resolved and checked separately, at connection time.
 */
export function checkImportUrl(url: URL, allowed: AddressPolicy): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw urlNotAllowed(`Only http:// and https:// URLs can be imported, not ${url.protocol}`)
  }
  if (url.username || url.password) throw urlNotAllowed('URLs with credentials are not accepted')
  const host = hostOf(url)
  if (isIpLiteral(host) && !allowed(host)) {
    throw urlNotAllowed(`${url.hostname} is not a public address`)
  }
}

/** Refuse a host name whose addresses are not all allowed (every one is checked, not just the first). */
export function checkResolved(hostname: string, addresses: readonly string[], allowed: AddressPolicy): void {
  if (addresses.length === 0) throw urlNotAllowed(`${hostname} has no address`)
  const refused = addresses.find((address) => !allowed(address))
  if (refused !== undefined) {
    throw urlNotAllowed(`${hostname} resolves to ${refused}, which is not a public address`)
  }
}
