import { describe, expect, it } from 'vitest'
import { jobOptions } from './job-options.ts'

const KNOWN = ['720p', 'hls', 'audio']
const refusal = (input: Parameters<typeof jobOptions>[0]) => {
  try {
    jobOptions(input, KNOWN)
  } catch (error) {
    return { code: (error as { code?: string }).code, message: (error as Error).message }
  }
  return null
}

describe('jobOptions: clip, watermark, normalize_audio', () => {
  it('reads a clip as JSON or as "start-end" text', () => {
    expect(jobOptions({ clip: { start: 12.5, end: 30 } }, KNOWN).clip).toEqual({ start: 12.5, end: 30 })
    expect(jobOptions({ clip: '12.5-30' }, KNOWN).clip).toEqual({ start: 12.5, end: 30 })
    expect(jobOptions({ clip: ' 0 - 4 ' }, KNOWN).clip).toEqual({ start: 0, end: 4 })
    expect(jobOptions({ clip: '{"start":1,"end":2}' }, KNOWN).clip).toEqual({ start: 1, end: 2 })
  })

  it('refuses empty, reversed, negative and malformed clips with 400 naming the rule', () => {
    expect(refusal({ clip: { start: 5, end: 5 } })).toEqual({
      code: 'bad_request',
      message: 'clip.end must be at least 0.1 s after clip.start (got 5-5)',
    })
    expect(refusal({ clip: { start: 9, end: 3 } })?.message).toMatch(/at least 0.1 s after/)
    expect(refusal({ clip: { start: -1, end: 3 } })?.message).toBe('clip.start must be 0 or more seconds')
    expect(refusal({ clip: { start: 0, end: 1e9 } })?.message).toBe('clip.end must be at most 604800 seconds')
    for (const clip of [
      'abc',
      '1-',
      { start: '1', end: 2 },
      { start: 1 },
      [1, 2],
      { start: 1, end: 2, x: 1 },
    ]) {
      expect(refusal({ clip })?.message, JSON.stringify(clip)).toMatch(/^clip must be/)
    }
  })

  it('fills the watermark placement defaults, and refuses what is outside its ranges', () => {
    expect(jobOptions({ watermark: {} }, KNOWN).watermark).toEqual({
      position: 'bottom-right',
      width: 0.15,
      margin: 0.02,
    })
    expect(
      jobOptions({ watermark: '{"image":"wm_abcdef123456","position":"top-left"}' }, KNOWN).watermark,
    ).toEqual({ image: 'wm_abcdef123456', position: 'top-left', width: 0.15, margin: 0.02 })
    expect(refusal({ watermark: { position: 'middle' } })?.message).toBe(
      'watermark.position: must be one of top-left, top-right, bottom-left, bottom-right, center',
    )
    expect(refusal({ watermark: { width: 0.9 } })?.message).toMatch(/^watermark.width: /)
    expect(refusal({ watermark: { image: '../../etc/passwd' } })?.message).toMatch(/^watermark.image: /)
    expect(refusal({ watermark: { colour: 'red' } })?.message).toMatch(/^watermark: must be an object/)
    expect(refusal({ watermark: 'not json' })?.message).toMatch(/^watermark must be JSON/)
  })

  it('reads normalize_audio as a boolean or its text', () => {
    expect(jobOptions({ normalize_audio: true }, KNOWN).normalize_audio).toBe(true)
    expect(jobOptions({ normalize_audio: 'false' }, KNOWN).normalize_audio).toBe(false)
    expect(refusal({ normalize_audio: 'yes' })?.message).toBe('normalize_audio must be true or false')
  })
})
