import { describe, expect, it } from 'vitest'
import {
  bar,
  formatBytes,
  formatDuration,
  formatElapsed,
  formatPercent,
  ProgressReporter,
  RateMeter,
  transcodeLine,
  uploadLine,
} from './progress.ts'

describe('formats', () => {
  it('bytes in binary units, durations, percents rounded down, bars', () => {
    expect([0, 999, 1024, 1536, 12.3 * 1024 ** 2, 1.5 * 1024 ** 3].map(formatBytes)).toEqual([
      '0 B',
      '999 B',
      '1.0 KiB',
      '1.5 KiB',
      '12.3 MiB',
      '1.5 GiB',
    ])
    expect([0, 42, 65, 3599, 7380].map(formatDuration)).toEqual(['0s', '42s', '1m05s', '59m59s', '2h03m'])
    expect([0.04, 9.94, 9.96, 75].map(formatElapsed)).toEqual(['0.0s', '9.9s', '10s', '1m15s'])
    expect([0, 0.421, 0.999, 1, 2, Number.NaN].map(formatPercent)).toEqual([
      '  0%',
      ' 42%',
      ' 99%',
      '100%',
      '100%',
      '  0%',
    ])
    expect(bar(0.5, 10)).toBe('[#####.....]')
  })

  it('upload and transcode lines', () => {
    expect(uploadLine(2.1 * 1024 ** 2, 10 * 1024 ** 2, 3.4 * 1024 ** 2)).toBe(
      'upload    [####................]  21%  2.1 MiB / 10.0 MiB  3.4 MiB/s',
    )
    expect(transcodeLine(42.5, 3)).toBe('transcode [########............]  42%  ETA 3s')
    expect(transcodeLine(100)).toBe('transcode [####################] 100%')
  })
})

describe('RateMeter', () => {
  it('measures bytes per second over its window only', () => {
    let now = 0
    const meter = new RateMeter(2000, () => now)
    expect(meter.perSecond()).toBe(0)
    meter.add(0)
    now = 1000
    meter.add(10_000)
    expect(meter.perSecond()).toBe(10_000)
    // A fast start, then a stall: the rate falls to what the last 2 s saw.
    now = 2000
    meter.add(20_000)
    now = 4000
    meter.add(21_000)
    expect(meter.perSecond()).toBe(500)
  })
})

/** A stream that records what is written to it. */
function recorder(isTTY: boolean) {
  const writes: string[] = []
  return { writes, stream: { isTTY, write: (text: string) => writes.push(text) } }
}

describe('ProgressReporter', () => {
  it('writes one line per 10 % when not a TTY, the first where it starts', () => {
    const { writes, stream } = recorder(false)
    const reporter = new ProgressReporter(stream)
    for (let sent = 35; sent <= 100; sent += 5) reporter.update(sent / 100, `at ${sent}`)
    expect(writes).toEqual([
      'at 35\n',
      'at 40\n',
      'at 50\n',
      'at 60\n',
      'at 70\n',
      'at 80\n',
      'at 90\n',
      'at 100\n',
    ])
  })

  it('redraws one line with \\r on a TTY, at most every interval and always at the end', () => {
    const { writes, stream } = recorder(true)
    let now = 0
    const reporter = new ProgressReporter(stream, { intervalMs: 100, now: () => now })
    reporter.update(0.1, 'long line 10')
    now = 50
    reporter.update(0.2, 'skipped')
    now = 150
    reporter.update(0.3, 'short')
    now = 160
    reporter.update(1, 'done')
    reporter.note('a note')
    reporter.end()
    expect(writes).toEqual(['\rlong line 10', '\rshort       ', '\rdone ', '\r    \r', 'a note\n'])
  })
})
