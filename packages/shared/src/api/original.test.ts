import { describe, expect, it } from 'vitest'
import { attachment, cleanFilename } from './original.ts'

describe('cleanFilename', () => {
  it('keeps the last path segment, without control characters or quotes', () => {
    expect(cleanFilename('holiday.mp4')).toBe('holiday.mp4')
    expect(cleanFilename('../../etc/passwd')).toBe('passwd')
    expect(cleanFilename('C:\\videos\\a"b".mov')).toBe('ab.mov')
    expect(cleanFilename('bad\r\nSet-Cookie: x.mp4')).toBe('badSet-Cookie: x.mp4')
    expect(cleanFilename('..')).toBe('original')
    expect(cleanFilename('\u0000')).toBe('original')
    expect(cleanFilename(`${'a'.repeat(300)}.mp4`)).toHaveLength(255)
  })
})

describe('attachment', () => {
  it('gives an ASCII fallback and the exact UTF-8 name', () => {
    expect(attachment('holiday.mp4')).toBe(`attachment; filename="holiday.mp4"; filename*=UTF-8''holiday.mp4`)
    expect(attachment('été "2026".mp4')).toBe(
      `attachment; filename="_t_ 2026.mp4"; filename*=UTF-8''%C3%A9t%C3%A9%202026.mp4`,
    )
    expect(attachment("it's (1).mp4")).toBe(
      `attachment; filename="it's (1).mp4"; filename*=UTF-8''it%27s%20%281%29.mp4`,
    )
  })
})
