import { describe, expect, it } from 'vitest'
import { chunkedProgress } from './audio-loudness.ts'

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
