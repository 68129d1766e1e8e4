import { describe, expect, it } from 'vitest'
import { chunkedProgress, measuredInput } from './audio-loudness.ts'

describe('chunkedProgress', () => {
  it('is the chunks’ seconds alone without normalize_audio, as before', () => {
    expect(chunkedProgress({ duration: 30 }, 12, { state: 'running', at: 5 })).toEqual({
      done: 12,
      total: 30,
    })
  })

  it('counts the audio item (measured, then encoded) at a tenth of the job with normalize_audio', () => {
    const plan = { duration: 30, normalizeAudio: true }
    expect(chunkedProgress(plan, 30, undefined)).toEqual({ done: 30, total: 33 })
    expect(chunkedProgress(plan, 30, { state: 'running', at: 15 })).toEqual({ done: 31.5, total: 33 })
    expect(chunkedProgress(plan, 30, { state: 'done', at: 0 })).toEqual({ done: 33, total: 33 })
  })
})

describe('measuredInput', () => {
  it('measures the clip’s stretch of the audio part only, as the audio item encodes it', () => {
    expect(measuredInput({ audioFormat: 'mov', clip: { start: 7.3, end: 15.3 } }, '/w/audio.mov')).toEqual([
      ...['-ss', '7.3', '-t', '8'],
      ...['-protocol_whitelist', 'file', '-f', 'mov', '-i', 'file:/w/audio.mov'],
    ])
    expect(measuredInput({ audioFormat: 'matroska' }, '/w/audio.mkv')).toEqual([
      ...['-protocol_whitelist', 'file', '-f', 'matroska', '-i', 'file:/w/audio.mkv'],
    ])
  })
})
