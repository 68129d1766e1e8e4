import { describe, expect, it } from 'vitest'
import { formatResolution } from './format.ts'

describe('formatResolution', () => {
  it('shows a size, or `audio` for the audio alone (width and height null)', () => {
    expect(formatResolution({ width: 1280, height: 720 })).toBe('1280x720')
    expect(formatResolution({ width: 1280, height: 720 }, '×')).toBe('1280×720')
    expect(formatResolution({ width: null, height: null })).toBe('audio')
  })
})
