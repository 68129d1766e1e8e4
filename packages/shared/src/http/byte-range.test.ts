import { describe, expect, it } from 'vitest'
import { byteRange } from './byte-range.ts'

describe('byteRange', () => {
  it('reads one bounded, open or suffix range, cutting the end to the file (206)', () => {
    expect(byteRange('bytes=10-99', 1000)).toEqual({ status: 206, start: 10, end: 99 })
    expect(byteRange('bytes=990-2000', 1000)).toEqual({ status: 206, start: 990, end: 999 })
    expect(byteRange('bytes=995-', 1000)).toEqual({ status: 206, start: 995, end: 999 })
    expect(byteRange('bytes=-5', 1000)).toEqual({ status: 206, start: 995, end: 999 })
    expect(byteRange('bytes=-2000', 1000)).toEqual({ status: 206, start: 0, end: 999 })
    expect(byteRange('bytes=0-0', 1000)).toEqual({ status: 206, start: 0, end: 0 })
  })

  it('finds nothing past the end, in an empty file or for an empty suffix (416)', () => {
    expect(byteRange('bytes=1000-', 1000)).toEqual({ status: 416 })
    expect(byteRange('bytes=1010-1020', 1000)).toEqual({ status: 416 })
    expect(byteRange('bytes=-0', 1000)).toEqual({ status: 416 })
    expect(byteRange('bytes=0-', 0)).toEqual({ status: 416 })
    expect(byteRange('bytes=-5', 0)).toEqual({ status: 416 })
  })

  it('ignores several ranges and anything it cannot read: the whole file (200)', () => {
    for (const header of [
      'bytes=0-1,5-6',
      'bytes=0-0,-1',
      'bytes=1000-1001,2000-',
      'items=1-2',
      'bytes=-',
      'bytes=5-2',
      'bytes=abc',
      '0-9',
      'bytes=0-9 ',
      '',
    ]) {
      expect(byteRange(header, 1000), header).toEqual({ status: 200 })
    }
  })
})
