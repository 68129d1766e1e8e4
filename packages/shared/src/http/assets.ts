import type { Context } from 'hono'

/** A file served from memory: its bytes, their gzip, and an ETag over them. */
export interface Asset {
  type: string
  plain: Uint8Array<ArrayBuffer>
  gzip: Uint8Array<ArrayBuffer>
  etag: string
}

/** `bytes` as an Asset: gzip with CompressionStream and a SHA-1 ETag (web APIs of every runtime). */
export async function makeAsset(bytes: Uint8Array, type: string): Promise<Asset> {
  const plain = new Uint8Array(bytes)
  const gzip = new Uint8Array(
    await new Response(new Blob([plain]).stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer(),
  )
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-1', plain))
  const etag = `"${Array.from(digest.subarray(0, 12), (b) => b.toString(16).padStart(2, '0')).join('')}"`
  return { type, plain, gzip, etag }
}

/** The asset as the answer: gzip when the client takes it, 304 when its ETag is still current. */
export function assetResponse(c: Context, asset: Asset, cacheControl: string): Response {
  const headers: Record<string, string> = {
    'Content-Type': asset.type,
    'Cache-Control': cacheControl,
    ETag: asset.etag,
    Vary: 'Accept-Encoding',
  }
  if (c.req.header('if-none-match') === asset.etag) return c.body(null, 304, headers)
  const gzip = /\bgzip\b/.test(c.req.header('accept-encoding') ?? '')
  return c.body(
    gzip ? asset.gzip : asset.plain,
    200,
    gzip ? { ...headers, 'Content-Encoding': 'gzip' } : headers,
  )
}
