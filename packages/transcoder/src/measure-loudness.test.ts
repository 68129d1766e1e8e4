import { describe, expect, it } from 'vitest'
import { afterMeasuring, MEASURE_SHARE, measuringProgress } from './measure-loudness.ts'

describe('progress with a measuring pass (normalize_audio)', () => {
  it('gives the measuring its first share without a time left, the encode the rest', () => {
    const seen: Array<[number, number | null]> = []
    const report = (percent: number, eta: number | null) => seen.push([percent, eta])
    const measuring = measuringProgress(report, 10)
    measuring(5)
    measuring(10)
    const encoding = afterMeasuring(report)
    encoding?.(0, 30)
    encoding?.(50, 10)
    encoding?.(100, 0)
    expect(MEASURE_SHARE).toBe(0.05)
    expect(seen).toEqual([
      [2.5, null],
      [5, null],
      [5, 30],
      [52.5, 10],
      [100, 0],
    ])
    // No duration known: nothing to say while measuring.
    measuringProgress(report, null)(3)
    expect(seen).toHaveLength(5)
  })
})
