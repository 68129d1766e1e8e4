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
