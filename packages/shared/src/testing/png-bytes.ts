import { deflateSync } from 'node:zlib'

/** CRC-32 (ISO 3309, as PNG chunks use), table-driven. */
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff
  for (const byte of bytes) c = (CRC_TABLE[(c ^ byte) & 0xff] as number) ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length)
  const view = new DataView(out.buffer)
  view.setUint32(0, data.length)
  out.set(new TextEncoder().encode(type), 4)
  out.set(data, 8)
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)))
  return out
}

function ihdr(width: number, height: number): Uint8Array {
  const data = new Uint8Array(13)
  const view = new DataView(data.buffer)
  view.setUint32(0, width)
  view.setUint32(4, height)
  data.set([8, 6, 0, 0, 0], 8) // 8 bits a sample, RGBA, deflate, no filter method, no interlace
  return data
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]

const concat = (parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0))
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

/** A real RGBA PNG of `width` x `height`, every pixel `rgba`: what ffmpeg decodes. */
export function pngBytes(
  width: number,
  height: number,
  rgba = [255, 255, 255, 255],
): Uint8Array<ArrayBuffer> {
  const row = 1 + width * 4
  const raw = new Uint8Array(row * height)
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) raw.set(rgba, y * row + 1 + x * 4)
  const idat = new Uint8Array(deflateSync(raw))
  return concat([
    new Uint8Array(SIGNATURE),
    chunk('IHDR', ihdr(width, height)),
    chunk('IDAT', idat),
    chunk('IEND', new Uint8Array()),
  ]) as Uint8Array<ArrayBuffer>
}

/** A PNG's signature and IHDR saying `width` x `height`, and no pixels: a forged header. */
export function pngHeader(width: number, height: number): Uint8Array<ArrayBuffer> {
  return concat([new Uint8Array(SIGNATURE), chunk('IHDR', ihdr(width, height))]) as Uint8Array<ArrayBuffer>
}
