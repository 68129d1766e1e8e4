/**
 * HLS over the MP4 downloads themselves: each H.264 rendition is one fragmented MP4 (a fragment
 * every 2 s keyframe, a `sidx` at the front listing them), and its HLS playlist names byte ranges
 * of it (`#EXT-X-BYTERANGE`). A rendition is stored once, and still plays and seeks as a download:
 * the front `sidx` is what lets a browser's `<video>` seek without reading every fragment's header
 * (docs/transcoding.md, "Stored once").
 */
import { open } from 'node:fs/promises'
import { boxes } from './chunks/fragments.ts'

/**
 * What ffmpeg's mp4 muxer is told for such a file: a fragment a keyframe, the `sidx` in front, and
 * the `moov` written once the first fragment is cut, so that its edit lists say where the video
 * starts (B-frames) and what of the AAC is priming, as a plain MP4's do (`empty_moov` would start
 * the video two frames late and leave the priming in).
 */
export const FRAGMENTED_MP4 = [
  '-movflags',
  '+frag_keyframe+delay_moov+default_base_moof+global_sidx',
  '-f',
  'mp4',
]

export interface ByteRange {
  offset: number
  length: number
}

export interface FragmentIndex {
  /** `ftyp` and `moov`: the init segment (`#EXT-X-MAP`). */
  init: ByteRange
  /** Each fragment (`moof` + `mdat`), in order, with its length in seconds. */
  fragments: Array<ByteRange & { seconds: number }>
}

/**
 * Pure: the init segment and the fragments of a fragmented MP4, from its front (`head`: the bytes
 * up to its first `moof` at least), as its first `sidx` lists them.
 */
export function fragmentIndex(head: Uint8Array): FragmentIndex {
  const top = boxes(head, 0, lastWholeBox(head))
  const moov = top.find((box) => box.type === 'moov')
  const sidx = top.find((box) => box.type === 'sidx')
  if (!moov || !sidx) throw new Error('not a fragmented MP4 with a sidx in front')
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength)
  const version = head[sidx.body]
  const timescale = view.getUint32(sidx.body + 8)
  let at = sidx.body + 12
  // earliest_presentation_time, then first_offset: 32 bits each in version 0, 64 in version 1.
  const firstOffset = version === 1 ? Number(view.getBigUint64(at + 8)) : view.getUint32(at + 4)
  at += version === 1 ? 16 : 8
  const count = view.getUint16(at + 2)
  at += 4
  let offset = sidx.end + firstOffset
  const fragments: FragmentIndex['fragments'] = []
  for (let i = 0; i < count; i++, at += 12) {
    const reference = view.getUint32(at)
    // A reference to another sidx (bit 31) is not what ffmpeg writes: refuse rather than guess.
    if (reference & 0x80000000) throw new Error('a hierarchical sidx')
    const length = reference & 0x7fffffff
    fragments.push({ offset, length, seconds: view.getUint32(at + 4) / timescale })
    offset += length
  }
  return { init: { offset: 0, length: moov.end }, fragments }
}

/** Where the last box wholly inside `head` ends (the front is read up to the first fragment). */
function lastWholeBox(head: Uint8Array): number {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength)
  let at = 0
  while (at + 8 <= head.length) {
    const size = view.getUint32(at)
    if (size < 8 || at + size > head.length) break
    at += size
  }
  return at
}

/**
 * Pure: HLS segments of about `seconds` from consecutive fragments (each starts on a keyframe): a
 * segment ends once it holds `seconds`, so every rung cuts at the same 2 s keyframes.
 */
export function rangeSegments(
  fragments: FragmentIndex['fragments'],
  seconds: number,
): Array<ByteRange & { seconds: number }> {
  const segments: Array<ByteRange & { seconds: number }> = []
  let open: (ByteRange & { seconds: number }) | undefined
  for (const fragment of fragments) {
    if (open && open.offset + open.length === fragment.offset && open.seconds < seconds - 0.001) {
      open.length += fragment.length
      open.seconds += fragment.seconds
    } else {
      open = { ...fragment }
      segments.push(open)
    }
  }
  return segments
}

/** The front of an MP4 file: every box before its first fragment (`moof`), read box by box. */
export async function readHead(path: string): Promise<Uint8Array> {
  const file = await open(path, 'r')
  try {
    const size = (await file.stat()).size
    const header = Buffer.alloc(16)
    let at = 0
    while (at + 8 <= size) {
      await file.read(header, 0, 16, at)
      const type = header.toString('latin1', 4, 8)
      let length = header.readUInt32BE(0)
      if (length === 1) length = Number(header.readBigUInt64BE(8))
      if (type === 'moof' || type === 'mdat' || length < 8) break
      at += length
    }
    const head = Buffer.alloc(Math.min(at, size))
    await file.read(head, 0, head.length, 0)
    return head
  } finally {
    await file.close()
  }
}
