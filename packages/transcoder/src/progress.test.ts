import { describe, expect, it } from 'vitest'
import { etaSeconds, type ProgressUpdate, progressParser, progressPercent } from './progress.ts'

describe('progressParser', () => {
  it("turns ffmpeg's -progress blocks into one update each", () => {
    const updates: ProgressUpdate[] = []
    const feed = progressParser((u) => updates.push(u))
    const output = [
      'frame=0',
      'out_time_us=N/A',
      'out_time=N/A',
      'progress=continue',
      'frame=48',
      'fps=24.00',
      'out_time_us=2002000',
      'out_time_ms=2002000',
      'speed=1.01x',
      'progress=continue',
      'out_time_us=4500000',
      'progress=end',
    ]
    for (const line of output) feed(line)
    expect(updates).toEqual([
      { outTime: 0, done: false },
      { outTime: 2.002, done: false },
      { outTime: 4.5, done: true },
    ])
  })
})

describe('progressPercent and etaSeconds', () => {
  it('is output time over duration, clamped, one decimal', () => {
    expect(progressPercent(2.5, 10)).toBe(25)
    expect(progressPercent(1, 3)).toBe(33.3)
    expect(progressPercent(12, 10)).toBe(100)
    expect(progressPercent(1, null)).toBeNull()
  })

  it('estimates the time left at the pace so far', () => {
    expect(etaSeconds(10_000, 25)).toBe(30)
    expect(etaSeconds(10_000, 0.5)).toBeNull()
    expect(etaSeconds(10_000, null)).toBeNull()
  })
})
