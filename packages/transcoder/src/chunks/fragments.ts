/**
 * Pure: fragmented MP4 (the fMP4 segments of HLS) read and moved in time. ffmpeg starts every
 * file's fragments at decode time 0 (`tfdt`), whatever offset it is asked for (that goes into the
 * init segment's edit list), so the segments of chunks encoded by separate runs overlap. Shifting
 * each chunk's `tfdt` (and `sidx`) by the length of the chunks before it makes them one timeline
 * under one init segment: a few bytes a fragment, no re-encode, no remux.
 */

export interface Box {
  type: string
  /** Offset of the box's first byte in the buffer. */
  start: number
  /** Offset of its payload (after the size and type, and the 64-bit size when there is one). */
  body: number
  end: number
}

/** The boxes laid end to end in `bytes[from, to)`. */
export function boxes(bytes: Uint8Array, from = 0, to = bytes.length): Box[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const found: Box[] = []
  for (let at = from; at + 8 <= to; ) {
    let size = view.getUint32(at)
    let body = at + 8
    if (size === 1) {
      size = Number(view.getBigUint64(at + 8))
      body = at + 16
    } else if (size === 0) size = to - at
    if (size < 8 || at + size > to) throw new Error(`malformed box at byte ${at}`)
    found.push({
      type: String.fromCharCode(...bytes.subarray(at + 4, at + 8)),
      start: at,
      body,
      end: at + size,
    })
    at += size
  }
  return found
}

/** The track fragments (`moof` > `traf`) of a segment, with their `tfhd`, `tfdt` and `trun` boxes. */
function trackFragments(bytes: Uint8Array): Array<{ tfhd?: Box; tfdt?: Box; truns: Box[] }> {
  return boxes(bytes)
    .filter((box) => box.type === 'moof')
    .flatMap((moof) => boxes(bytes, moof.body, moof.end).filter((box) => box.type === 'traf'))
    .map((traf) => {
      const children = boxes(bytes, traf.body, traf.end)
      return {
        tfhd: children.find((box) => box.type === 'tfhd'),
        tfdt: children.find((box) => box.type === 'tfdt'),
        truns: children.filter((box) => box.type === 'trun'),
      }
    })
}

const viewOf = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)

/** A `tfdt`'s base media decode time (version 1: 64 bits; version 0: 32). */
function decodeTime(bytes: Uint8Array, tfdt: Box): bigint {
  const view = viewOf(bytes)
  return bytes[tfdt.body] === 1 ? view.getBigUint64(tfdt.body + 4) : BigInt(view.getUint32(tfdt.body + 4))
}

/** The sum of a `trun`'s sample durations (its own, or the `tfhd` default for every sample). */
function runDuration(bytes: Uint8Array, trun: Box, defaultDuration: number): bigint {
  const view = viewOf(bytes)
  const flags = view.getUint32(trun.body) & 0xffffff
  const count = view.getUint32(trun.body + 4)
  if (!(flags & 0x100)) return BigInt(count) * BigInt(defaultDuration)
  let at = trun.body + 8 + (flags & 0x1 ? 4 : 0) + (flags & 0x4 ? 4 : 0)
  const stride = 4 * [0x100, 0x200, 0x400, 0x800].filter((bit) => flags & bit).length
  let total = 0n
  for (let i = 0; i < count; i++, at += stride) total += BigInt(view.getUint32(at))
  return total
}

/** A `tfhd`'s default sample duration, when it has one (flag 0x8), else 0. */
function defaultSampleDuration(bytes: Uint8Array, tfhd: Box | undefined): number {
  if (!tfhd) return 0
  const view = viewOf(bytes)
  const flags = view.getUint32(tfhd.body) & 0xffffff
  if (!(flags & 0x8)) return 0
  const at = tfhd.body + 8 + (flags & 0x1 ? 8 : 0) + (flags & 0x2 ? 4 : 0)
  return view.getUint32(at)
}

/**
 * Where a segment's samples start and end in decode time (the track's timescale): the first
 * fragment's `tfdt`, and the last one's plus its samples' durations. Null with no fragment.
 */
export function decodeSpan(bytes: Uint8Array): { start: bigint; end: bigint } | null {
  const spans = trackFragments(bytes).map(({ tfhd, tfdt, truns }) => {
    if (!tfdt) throw new Error('a track fragment without tfdt')
    const start = decodeTime(bytes, tfdt)
    const defaultDuration = defaultSampleDuration(bytes, tfhd)
    return { start, end: truns.reduce((at, trun) => at + runDuration(bytes, trun, defaultDuration), start) }
  })
  // Fragments come in decode order: the first starts the segment, the last ends it.
  const [first, last] = [spans[0], spans.at(-1)]
  return first && last ? { start: first.start, end: last.end } : null
}

/**
 * A copy of a segment with every fragment `ticks` later in decode and presentation time: each
 * `tfdt`, and each `sidx`'s earliest presentation time (in its own timescale, given the track's).
 */
export function shiftSegment(bytes: Uint8Array, ticks: bigint, trackTimescale: number): Uint8Array {
  const out = new Uint8Array(bytes)
  const view = viewOf(out)
  for (const { tfdt } of trackFragments(out)) {
    if (!tfdt) continue
    const moved = decodeTime(out, tfdt) + ticks
    if (out[tfdt.body] === 1) view.setBigUint64(tfdt.body + 4, moved)
    else if (moved <= 0xffffffffn) view.setUint32(tfdt.body + 4, Number(moved))
    else throw new Error('tfdt version 0 cannot hold the shifted time')
  }
  for (const sidx of boxes(out).filter((box) => box.type === 'sidx')) {
    const timescale = view.getUint32(sidx.body + 8)
    const shift = (ticks * BigInt(timescale)) / BigInt(trackTimescale)
    const at = sidx.body + 12
    if (out[sidx.body] === 1) view.setBigUint64(at, view.getBigUint64(at) + shift)
    else {
      const moved = BigInt(view.getUint32(at)) + shift
      if (moved > 0xffffffffn) throw new Error('sidx version 0 cannot hold the shifted time')
      view.setUint32(at, Number(moved))
    }
  }
  return out
}

/** The first track's timescale (`moov` > `trak` > `mdia` > `mdhd`) of an init segment. */
export function trackTimescale(init: Uint8Array): number {
  const view = viewOf(init)
  const moov = boxes(init).find((box) => box.type === 'moov')
  const trak = moov && boxes(init, moov.body, moov.end).find((box) => box.type === 'trak')
  const mdia = trak && boxes(init, trak.body, trak.end).find((box) => box.type === 'mdia')
  const mdhd = mdia && boxes(init, mdia.body, mdia.end).find((box) => box.type === 'mdhd')
  if (!mdhd) throw new Error('no mdhd in the init segment')
  return view.getUint32(mdhd.body + (init[mdhd.body] === 1 ? 20 : 12))
}
