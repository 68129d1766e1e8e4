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

describe('checkResolved', () => {
  it('refuses a host when any one of its addresses is not public', () => {
    expect(() => checkResolved('cdn.example.com', ['93.184.216.34'], isPublicAddress)).not.toThrow()
    expect(() =>
      checkResolved('rebind.example.com', ['93.184.216.34', '127.0.0.1'], isPublicAddress),
    ).toThrow('rebind.example.com resolves to 127.0.0.1, which is not a public address')
    expect(() => checkResolved('nothing.example.com', [], isPublicAddress)).toThrow('has no address')
  })
})
