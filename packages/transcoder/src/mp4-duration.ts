import { open } from 'node:fs/promises'

/**
 * Pure: seconds of a movie from its `mvhd` box (`bytes` starts at the box): duration over
 * timescale, version 0 (32-bit) or 1 (64-bit). Null when it is not an mvhd or says nothing.
 */
export function mvhdSeconds(bytes: Uint8Array): number | null {
  if (bytes.length < 32 || String.fromCharCode(...bytes.subarray(4, 8)) !== 'mvhd') return null
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const version = bytes[8]
  const timescale = view.getUint32(version === 1 ? 28 : 20)
  const duration = version === 1 ? Number(view.getBigUint64(32)) : view.getUint32(24)
  return timescale > 0 && duration > 0 ? duration / timescale : null
}

/**
 * Seconds of an MP4 the transcoder wrote, read from its movie header (`moov` > `mvhd`: the
 * duration the muxer computed from the samples it wrote) without a process: a few small reads
 * from the start, where faststart puts the index. Null when the header is not found there.
 */
export async function mp4Duration(path: string): Promise<number | null> {
  const file = await open(path, 'r')
  try {
    const header = Buffer.alloc(16)
    // Top-level boxes: ftyp, then moov (faststart); a few at most before it.
    for (let at = 0, boxes = 0; boxes < 8; boxes++) {
      const { bytesRead } = await file.read(header, 0, 16, at)
      if (bytesRead < 8) return null
      const small = header.readUInt32BE(0)
      const size = small === 1 ? Number(header.readBigUInt64BE(8)) : small
      const body = small === 1 ? 16 : 8
      if (header.toString('latin1', 4, 8) === 'moov') {
        const first = Buffer.alloc(128)
        const read = await file.read(first, 0, 128, at + body)
        return mvhdSeconds(first.subarray(0, read.bytesRead))
      }
      if (size < 8) return null
      at += size
    }
    return null
  } finally {
    await file.close()
  }
}
