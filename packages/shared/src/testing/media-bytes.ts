/** The first bytes of an MP4 (an `ftyp` box): enough for the upload's content check. */
export const MP4_HEAD = new Uint8Array([0, 0, 0, 0x18, ...new TextEncoder().encode('ftypisom'), 0, 0, 2, 0])

/** `size` bytes that pass the content check but are no video: an MP4 head, then a pattern. */
export function mp4Bytes(size = 40_000): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size).map((_, i) => i % 251)
  bytes.set(MP4_HEAD)
  return bytes
}
