import { describe, expect, it } from 'vitest'
import { byteRange } from './byte-range.ts'

describe('byteRange', () => {
  it('reads bounded, open and suffix ranges, cutting the end to the file', () => {
    expect(byteRange('bytes=10-99', 1000)).toEqual({ start: 10, end: 99 })
    expect(byteRange('bytes=990-2000', 1000)).toEqual({ start: 990, end: 999 })
    expect(byteRange('bytes=995-', 1000)).toEqual({ start: 995, end: 999 })
    expect(byteRange('bytes=-5', 1000)).toEqual({ start: 995, end: 999 })
    expect(byteRange('bytes=-2000', 1000)).toEqual({ start: 0, end: 999 })
  })

  it('finds nothing past the end, backwards, in an empty file or for an empty suffix (416)', () => {
    expect(byteRange('bytes=1000-', 1000)).toBeNull()
    expect(byteRange('bytes=5-2', 1000)).toBeNull()
    expect(byteRange('bytes=-0', 1000)).toBeNull()
    expect(byteRange('bytes=0-', 0)).toBeNull()
  })

  it('asks for the whole file when it cannot read the header, as Node serveStatic does', () => {
    expect(byteRange('bytes=0-1,5-6', 1000)).toEqual({ start: 0, end: 999 })
    expect(byteRange('items=1-2', 1000)).toEqual({ start: 0, end: 999 })
    expect(byteRange('bytes=-', 1000)).toEqual({ start: 0, end: 999 })
  })
})
