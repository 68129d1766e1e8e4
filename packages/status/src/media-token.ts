import { decodeBase64Url, encodeBase64Url } from 'hono/utils/encode'

/** A media token as it appears in a path: `{expiry, unix seconds}.{HMAC-SHA256, base64url}`. */
export const MEDIA_TOKEN = /^\d{1,12}\.[A-Za-z0-9_-]{43}$/

export type TokenCheck = 'valid' | 'expired' | 'invalid'

/**
 * Signed playback (API_KEYS on): a token for one job's folder, valid until its expiry, as the
 * first segment of the media path (`/media/{token}/{job_id}/hls/master.m3u8`), so the relative
 * URIs inside playlists and cues inherit it and a player needs no header. Web Crypto only:
 * the same code runs on Node, Bun and Deno.
 */
export class MediaSigner {
  readonly #key: Promise<CryptoKey>

  constructor(
    secret: string,
    /** How long a token is valid (MEDIA_URL_TTL). */
    readonly ttlSeconds: number,
    /**
     * What the token opens, signed with it (`vpp-media`: a job's media; `vpp-original`: its
     * upload): a token made for one purpose is invalid for any other, whatever the secret.
     */
    readonly purpose: 'vpp-media' | 'vpp-original' = 'vpp-media',
  ) {
    this.#key = crypto.subtle.importKey(
      'raw',
      new TextEncoder().encode(secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    )
  }

  /**
   * A token for job `jobId`, valid for at least the TTL from `now`. The expiry is rounded up to a
   * tenth of the TTL, so the URLs of a job stay the same for a while and players and caches reuse
   * what they fetched under them.
   */
  async sign(jobId: string, now: Date): Promise<string> {
    const step = Math.max(1, Math.floor(this.ttlSeconds / 10))
    const expiry = Math.ceil((now.getTime() / 1000 + this.ttlSeconds) / step) * step
    const signature = await crypto.subtle.sign('HMAC', await this.#key, message(this.purpose, jobId, expiry))
    return `${expiry}.${encodeBase64Url(signature).replace(/=+$/, '')}`
  }

  /** When a token made by `sign` at `now` expires. */
  expiryOf(token: string): Date {
    return new Date(Number(token.split('.')[0]) * 1000)
  }

  /** Whether `token` was made here for `jobId` (constant-time), and is not past its expiry. */
  async check(token: string, jobId: string, now: Date): Promise<TokenCheck> {
    if (!MEDIA_TOKEN.test(token)) return 'invalid'
    const [expiry, signature] = token.split('.') as [string, string]
    const bytes = decodeBase64Url(signature)
    const valid = await crypto.subtle.verify(
      'HMAC',
      await this.#key,
      bytes,
      message(this.purpose, jobId, Number(expiry)),
    )
    if (!valid) return 'invalid'
    return Number(expiry) * 1000 <= now.getTime() ? 'expired' : 'valid'
  }
}

/** What is signed: the purpose, the job and the expiry, so a token opens one job's files (or upload) until then. */
const message = (purpose: string, jobId: string, expiry: number) =>
  new TextEncoder().encode(`${purpose}\n${jobId}\n${expiry}`)
