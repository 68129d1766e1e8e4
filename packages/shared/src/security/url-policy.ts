import ipaddr from 'ipaddr.js'
import { PermanentJobError } from '../errors.ts'

/**
 * URL imports fetch what a stranger names, from inside our network. These checks keep them to the
 * public internet: http(s) only, no credentials, and only addresses in ipaddr.js's `unicast`
 * range (so never loopback, private, link-local, CGNAT, multicast, unspecified, reserved,
 * IPv4-mapped/embedded forms of those, or cloud metadata addresses).
 */

/** Metadata services that sit on otherwise ordinary-looking addresses. */
const METADATA_ADDRESSES = new Set(['169.254.169.254', '169.254.170.2', '100.100.100.200', 'fd00:ec2::254'])

export const urlNotAllowed = (message: string) =>
  new PermanentJobError('url_not_allowed', message, { status: 400 })

/** True when `address` (an IP literal) is a public unicast address a URL import may connect to. */
export function isPublicAddress(address: string): boolean {
  if (!isIpLiteral(address)) return false
  // process(): ::ffff:127.0.0.1 and friends are judged as the IPv4 address they carry.
  return ipaddr.process(address).range() === 'unicast' && !isMetadataAddress(address)
}

/** Cloud metadata endpoints: refused even when private addresses are allowed. */
export function isMetadataAddress(address: string): boolean {
  if (!isIpLiteral(address)) return false
  return METADATA_ADDRESSES.has(ipaddr.process(address).toString())
}

/** Decides whether a resolved address may be connected to. */
export type AddressPolicy = (address: string) => boolean

/**
 * The policy of URL_IMPORT_ALLOW_PRIVATE: public unicast addresses only, or (true, for tests and
 * trusted networks) any address but a cloud metadata endpoint.
 */
export const addressPolicy = (allowPrivate: boolean): AddressPolicy =>
  allowPrivate ? (address) => !isMetadataAddress(address) : isPublicAddress

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
