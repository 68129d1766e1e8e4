import { describe, expect, it } from 'vitest'
import { MEDIA_TOKEN, MediaSigner } from './media-token.ts'

const signer = new MediaSigner('secret-0123456789abcdef-0123456789', 3600)
const at = (iso: string) => new Date(iso)

describe('MediaSigner', () => {
  it('signs a job until its TTL has passed, rounded up to a tenth of the TTL', async () => {
    const token = await signer.sign('job-1', at('2026-01-01T00:00:01Z'))
    expect(token).toMatch(MEDIA_TOKEN)
    // 00:00:01 + 3600 s, rounded up to 6 minutes: 01:06:00.
    expect(token.split('.')[0]).toBe(String(Date.parse('2026-01-01T01:06:00Z') / 1000))
    expect(await signer.sign('job-1', at('2026-01-01T00:05:59Z'))).toBe(token)
    expect(await signer.check(token, 'job-1', at('2026-01-01T01:05:59Z'))).toBe('valid')
    expect(await signer.check(token, 'job-1', at('2026-01-01T01:06:00Z'))).toBe('expired')
  })

  it('refuses a token for another job, another secret, or with any character changed', async () => {
    const now = at('2026-01-01T00:00:00Z')
    const token = await signer.sign('job-1', now)
    expect(await signer.check(token, 'job-2', now)).toBe('invalid')
    const other = new MediaSigner('another-secret-0123456789abcdef', 3600)
    expect(await other.check(token, 'job-1', now)).toBe('invalid')
    const [expiry = '', signature = ''] = token.split('.')
    expect(await signer.check(`${Number(expiry) + 1}.${signature}`, 'job-1', now)).toBe('invalid')
    for (const i of [0, 20, 41]) {
      const changed = signature.slice(0, i) + (signature[i] === 'A' ? 'B' : 'A') + signature.slice(i + 1)
      expect(await signer.check(`${expiry}.${changed}`, 'job-1', now), `character ${i}`).toBe('invalid')
    }
    expect(await signer.check('not-a-token', 'job-1', now)).toBe('invalid')
  })
})

describe('MediaSigner for originals (purpose vpp-original)', () => {
  const SECRET = 'secret-0123456789abcdef-0123456789'
  const originals = new MediaSigner(SECRET, 300, 'vpp-original')

  it('expires ORIGINAL_URL_TTL after it was made (rounded up to a tenth of it), by the clock it is given', async () => {
    const made = at('2026-01-01T00:00:01Z')
    const token = await originals.sign('job-1', made)
    // 00:00:01 + 300 s, rounded up to 30 s: 00:05:30.
    expect(originals.expiryOf(token).toISOString()).toBe('2026-01-01T00:05:30.000Z')
    expect(await originals.check(token, 'job-1', made)).toBe('valid')
    expect(await originals.check(token, 'job-1', at('2026-01-01T00:05:29.999Z'))).toBe('valid')
    expect(await originals.check(token, 'job-1', at('2026-01-01T00:05:30Z'))).toBe('expired')
    expect(await originals.check(token, 'job-1', at('2026-01-02T00:00:00Z'))).toBe('expired')
  })

  it('is never valid as a media token, nor a media token as an original one, with the same secret', async () => {
    const now = at('2026-01-01T00:00:00Z')
    const media = new MediaSigner(SECRET, 300)
    const original = await originals.sign('job-1', now)
    const mediaToken = await media.sign('job-1', now)
    expect(original.split('.')[0]).toBe(mediaToken.split('.')[0]) // same expiry: only the purpose differs
    expect(original).not.toBe(mediaToken)
    expect(await media.check(original, 'job-1', now)).toBe('invalid')
    expect(await originals.check(mediaToken, 'job-1', now)).toBe('invalid')
    expect(await originals.check(original, 'job-2', now)).toBe('invalid')
  })
})
