import { describe, expect, it } from 'vitest'
import { addressPolicy, checkImportUrl, checkResolved, isPublicAddress } from './url-policy.ts'

describe('isPublicAddress', () => {
  it('allows public unicast addresses only', () => {
    for (const address of ['8.8.8.8', '93.184.216.34', '2606:4700::1111', '::ffff:8.8.8.8']) {
      expect(isPublicAddress(address), address).toBe(true)
    }
  })

  it('refuses loopback, private, link-local, CGNAT, multicast, unspecified, reserved and metadata', () => {
    const refused = {
      loopback: ['127.0.0.1', '127.1.2.3', '::1'],
      private: ['10.0.0.1', '172.16.5.4', '192.168.1.1', 'fd00::1'],
      linkLocal: ['169.254.169.254', 'fe80::1'],
      cgnat: ['100.64.0.1', '100.100.100.200'],
      multicast: ['224.0.0.1', 'ff02::1'],
      unspecified: ['0.0.0.0', '::'],
      broadcastAndReserved: ['255.255.255.255', '240.0.0.1', '192.0.2.1', '198.18.0.1'],
      // The same addresses in IPv6 clothing: mapped, compatible, NAT64, 6to4.
      embedded: [
        '::ffff:127.0.0.1',
        '::ffff:169.254.169.254',
        '::127.0.0.1',
        '64:ff9b::7f00:1',
        '2002:7f00:1::',
      ],
      metadata: ['fd00:ec2::254'],
      notAnAddress: ['localhost', '', '1.2.3'],
    }
    for (const [kind, addresses] of Object.entries(refused)) {
      for (const address of addresses) expect(isPublicAddress(address), `${kind} ${address}`).toBe(false)
    }
  })

  it('URL_IMPORT_ALLOW_PRIVATE lets private addresses through, but never a metadata endpoint', () => {
    const trusted = addressPolicy(true)
    expect(trusted('127.0.0.1')).toBe(true)
    expect(trusted('10.0.0.1')).toBe(true)
    expect(trusted('169.254.169.254')).toBe(false)
    expect(trusted('::ffff:169.254.169.254')).toBe(false)
    expect(addressPolicy(false)('127.0.0.1')).toBe(false)
  })
})

describe('checkImportUrl', () => {
  const check = (url: string) => () => checkImportUrl(new URL(url), isPublicAddress)

  it('passes public http(s) URLs and host names (checked when resolved)', () => {
    expect(check('https://cdn.example.com/a.mp4')).not.toThrow()
    expect(check('http://93.184.216.34:8080/a.mp4')).not.toThrow()
  })

  it('refuses other schemes, credentials and private IP literals in any spelling', () => {
    expect(check('file:///etc/passwd')).toThrow('Only http:// and https:// URLs can be imported')
    expect(check('gopher://example.com/')).toThrow('Only http')
    expect(check('https://user:secret@example.com/a.mp4')).toThrow('URLs with credentials are not accepted')
    // The WHATWG parser turns these into 127.0.0.1 before we look.
    for (const url of ['http://127.0.0.1/', 'http://0x7f.1/', 'http://2130706433/', 'http://0177.0.0.1/']) {
      expect(check(url), url).toThrow('127.0.0.1 is not a public address')
    }
    expect(check('http://[::ffff:7f00:1]/')).toThrow('is not a public address')
    expect(check('http://[::1]:8000/')).toThrow('[::1] is not a public address')
    expect(check('http://169.254.169.254/latest/meta-data/')).toThrow('is not a public address')
    try {
      check('http://10.0.0.1/')()
    } catch (error) {
      expect(error).toMatchObject({ code: 'url_not_allowed', status: 400 })
    }
  })
})

/**
 * IPv6 forms that carry an IPv4 address, written as a stranger would write them, with what the
 * WHATWG URL parser makes of each (the form every check sees): `[::127.0.0.1]` becomes
 * `[::7f00:1]`, which ipaddr.js alone calls unicast.
 */
const EMBEDDED: Array<[written: string, parsed: string]> = [
  // IPv4-compatible, ::/96 (deprecated): refused whatever it carries.
  ['http://[::127.0.0.1]:9999/x', '[::7f00:1]'],
  ['http://[::169.254.169.254]/', '[::a9fe:a9fe]'],
  ['http://[::10.0.0.1]/', '[::a00:1]'],
  ['http://[::8.8.8.8]/', '[::808:808]'],
  // IPv4-mapped, ::ffff:0:0/96: judged as the IPv4 address.
  ['http://[::ffff:127.0.0.1]/', '[::ffff:7f00:1]'],
  ['http://[::ffff:169.254.169.254]/', '[::ffff:a9fe:a9fe]'],
  ['http://[0:0:0:0:0:ffff:10.0.0.1]/', '[::ffff:a00:1]'],
  // IPv4-translated, ::ffff:0:0:0/96 (SIIT): refused.
  ['http://[::ffff:0:127.0.0.1]/', '[::ffff:0:7f00:1]'],
  // NAT64 well-known prefix, 64:ff9b::/96: judged as the IPv4 address.
  ['http://[64:ff9b::127.0.0.1]/', '[64:ff9b::7f00:1]'],
  ['http://[64:ff9b::7f00:1]/', '[64:ff9b::7f00:1]'],
  ['http://[64:ff9b::169.254.169.254]/', '[64:ff9b::a9fe:a9fe]'],
  // Local-use NAT64, 64:ff9b:1::/48: refused.
  ['http://[64:ff9b:1::8.8.8.8]/', '[64:ff9b:1::808:808]'],
  // 6to4, 2002::/16: refused whatever it carries.
  ['http://[2002:7f00:1::]/', '[2002:7f00:1::]'],
  ['http://[2002:a9fe:a9fe::1]/', '[2002:a9fe:a9fe::1]'],
  ['http://[2002:808:808::1]/', '[2002:808:808::1]'],
  // Teredo, 2001::/32 (server 65.54.227.120, client 127.0.0.1 obfuscated): refused.
  ['http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/', '[2001:0:4136:e378:8000:63bf:80ff:fffe]'],
  ['http://[2001:0000:4136:e378::127.0.0.1]/', '[2001:0:4136:e378::7f00:1]'],
]

describe('IPv6 forms that carry an IPv4 address', () => {
  it('are refused as URL hosts, in the form the URL parser gives them', () => {
    for (const [written, parsed] of EMBEDDED) {
      const url = new URL(written)
      expect(url.hostname, written).toBe(parsed)
      expect(() => checkImportUrl(url, isPublicAddress), written).toThrow(`${parsed} is not a public address`)
      expect(() => checkImportUrl(url, addressPolicy(false)), written).toThrow('is not a public address')
    }
  })

  it('are refused as resolved addresses (DNS answers), in any spelling', () => {
    for (const [written, parsed] of EMBEDDED) {
      for (const address of [parsed.slice(1, -1), written.replace(/^http:\/\/\[(.*)\].*$/, '$1')]) {
        expect(() => checkResolved('v.example.com', [address], isPublicAddress), address).toThrow(
          `v.example.com resolves to ${address}, which is not a public address`,
        )
      }
    }
  })

  it('pass the mapped and NAT64 forms of a public address, and never the other forms', () => {
    for (const address of ['::ffff:808:808', '::ffff:8.8.8.8', '64:ff9b::808:808', '64:ff9b::8.8.8.8']) {
      expect(isPublicAddress(address), address).toBe(true)
    }
    for (const address of ['::808:808', '::ffff:0:808:808', '64:ff9b:1::808:808', '2002:808:808::1']) {
      expect(isPublicAddress(address), address).toBe(false)
    }
  })

  it('with URL_IMPORT_ALLOW_PRIVATE: a private address in any form passes, a metadata address in none', () => {
    const trusted = addressPolicy(true)
    for (const address of ['::ffff:7f00:1', '64:ff9b::a00:1']) expect(trusted(address), address).toBe(true)
    for (const address of [
      '::a9fe:a9fe',
      '::ffff:a9fe:a9fe',
      '64:ff9b::a9fe:a9fe',
      '::ffff:0:a9fe:a9fe',
      '2002:a9fe:a9fe::',
      '::7f00:1',
    ]) {
      expect(trusted(address), address).toBe(false)
    }
  })
})

describe('checkResolved', () => {
  it('refuses a host when any one of its addresses is not public', () => {
    expect(() => checkResolved('cdn.example.com', ['93.184.216.34'], isPublicAddress)).not.toThrow()
    expect(() =>
      checkResolved('rebind.example.com', ['93.184.216.34', '127.0.0.1'], isPublicAddress),
    ).toThrow('rebind.example.com resolves to 127.0.0.1, which is not a public address')
    expect(() => checkResolved('nothing.example.com', [], isPublicAddress)).toThrow('has no address')
  })
})
