import { describe, expect, it } from 'vitest'
import { ContentCheck, sniffContainer } from './sniff.ts'

const text = (s: string) => new TextEncoder().encode(s)
const bytes = (...parts: Array<string | number[]>) =>
  new Uint8Array(parts.flatMap((p) => (typeof p === 'string' ? [...text(p)] : p)))

describe('sniffContainer', () => {
  it('recognises mp4/mov, AVI and Matroska/WebM by their magic bytes', () => {
    expect(sniffContainer(bytes([0, 0, 0, 0x20], 'ftypisom', [0, 0, 2, 0]))).toBe('mp4')
    expect(sniffContainer(bytes([0, 0, 0, 0x14], 'ftypqt  ', [0, 0, 0, 0]))).toBe('mp4')
    // Old QuickTime files start with the movie atom itself.
    expect(sniffContainer(bytes([0, 0, 0x12, 0x34], 'moov', [0, 0, 0, 0]))).toBe('mp4')
    expect(sniffContainer(bytes('RIFF', [1, 2, 3, 4], 'AVI LIST'))).toBe('avi')
    expect(sniffContainer(bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81]))).toBe('matroska')
  })

  it('refuses playlists, concat scripts, other media and short files', () => {
    expect(sniffContainer(text('#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n'))).toBeNull()
    expect(sniffContainer(text('ffconcat version 1.0\nfile /etc/passwd\n'))).toBeNull()
    expect(sniffContainer(bytes('RIFF', [1, 2, 3, 4], 'WAVEfmt '))).toBeNull()
    expect(sniffContainer(bytes([0xff, 0xd8, 0xff, 0xe0], 'JFIF', [0, 0, 0, 0]))).toBeNull()
    expect(sniffContainer(bytes([0, 0, 0, 0x20], 'ftyp'))).toBeNull()
  })
})

describe('ContentCheck', () => {
  it('holds chunks back until the magic is complete, then passes everything through in order', () => {
    const check = new ContentCheck()
    const head = bytes([0, 0, 0, 0x20], 'ftypisom', [0, 0])
    expect(check.push(head.subarray(0, 3))).toEqual([])
    expect(check.push(head.subarray(3, 9))).toEqual([])
    expect(check.push(head.subarray(9))).toEqual([head.subarray(0, 3), head.subarray(3, 9), head.subarray(9)])
    expect(check.container).toBe('mp4')
    const rest = bytes('rest')
    expect(check.push(rest)).toEqual([rest])
    expect(check.end()).toEqual([])
  })

  it('throws invalid_file_type (415) on the first chunk that proves the content wrong, or at the end', () => {
    expect(() => new ContentCheck().push(text('#EXTM3U\nfile:///etc/passwd\n'))).toThrow(
      expect.objectContaining({ code: 'invalid_file_type', status: 415 }),
    )
    const short = new ContentCheck()
    expect(short.push(text('tiny'))).toEqual([])
    expect(() => short.end()).toThrow('Invalid file type')
  })
})
