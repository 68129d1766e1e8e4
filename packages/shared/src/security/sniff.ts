import { PermanentJobError } from '../api/errors.ts'

/** Container families accepted by content (and the demuxers that read them). */
export type Container = 'mp4' | 'avi' | 'matroska'

/** Bytes needed to tell the accepted containers apart. */
export const SNIFF_BYTES = 12

/** QuickTime top-level atoms a .mov may start with instead of `ftyp` (old QuickTime files). */
const QUICKTIME_ATOMS = new Set(['ftyp', 'moov', 'mdat', 'wide', 'free', 'skip', 'pnot'])

const ascii = (bytes: Uint8Array, from: number, to: number) =>
  String.fromCharCode(...bytes.subarray(from, to))

/**
 * Pure: the container family of a file from its first bytes, or null when it is none of the
 * accepted ones. mp4/mov: an ISO-BMFF/QuickTime atom type at offset 4; AVI: `RIFF....AVI `;
 * Matroska/WebM: the EBML magic 1A 45 DF A3.
 */
export function sniffContainer(head: Uint8Array): Container | null {
  if (head.length >= 4 && head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3) {
    return 'matroska'
  }
  if (head.length < SNIFF_BYTES) return null
  if (ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'AVI ') return 'avi'
  if (QUICKTIME_ATOMS.has(ascii(head, 4, 8))) return 'mp4'
  return null
}

export const invalidFileType = () =>
  new PermanentJobError(
    'invalid_file_type',
    'Invalid file type: the content is not an mp4, mov, avi, mkv or webm video',
    { status: 415 },
  )

/**
 * Holds the first bytes of a stream back until they can be sniffed, then lets everything through.
 * `push` returns the chunks that may be written now; both it and `end` throw `invalid_file_type`
 * (415) when the content is not an accepted container.
 */
export class ContentCheck {
  #held: Uint8Array[] = []
  #size = 0
  container: Container | null = null

  push(chunk: Uint8Array): Uint8Array[] {
    if (this.container) return [chunk]
    this.#held.push(chunk)
    this.#size += chunk.byteLength
    return this.#size >= SNIFF_BYTES ? this.#release() : []
  }

  /** The stream ended: whatever is still held (a file shorter than the magic) is checked now. */
  end(): Uint8Array[] {
    return this.container ? [] : this.#release()
  }

  #release(): Uint8Array[] {
    const head = new Uint8Array(this.#size)
    let offset = 0
    for (const chunk of this.#held) {
      head.set(chunk, offset)
      offset += chunk.byteLength
    }
    this.container = sniffContainer(head)
    if (!this.container) throw invalidFileType()
    const held = this.#held
    this.#held = []
    return held
  }
}
