import { AppError, PermanentJobError } from '@vpp/shared'
import { describe, expect, it } from 'vitest'
import { ProcessError } from './ffmpeg-process.ts'
import {
  atCeiling,
  errorCode,
  ffmpegTimeoutMs,
  finalError,
  isPermanent,
  MAX_TIMEOUT_MS,
  retryDelayMs,
} from './retry-policy.ts'

describe('retryDelayMs', () => {
  it('doubles per attempt, with half of each delay random', () => {
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, 1000, 60_000, () => 0))).toEqual([500, 1000, 2000, 4000])
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, 1000, 60_000, () => 1))).toEqual([1000, 2000, 4000, 8000])
  })

  it('never exceeds the ceiling', () => {
    expect(retryDelayMs(30, 1000, 60_000, () => 1)).toBe(60_000)
    expect(retryDelayMs(30, 1000, 60_000, () => 0)).toBe(30_000)
  })
})

describe('ffmpegTimeoutMs', () => {
  it('uses FFMPEG_TIMEOUT when it is set', () => {
    expect(ffmpegTimeoutMs(3600, 5, 4 * 3600)).toBe(5000)
  })

  it('scales with the input: 10 s per second of video, at least 2 min, at most 12 h', () => {
    expect(ffmpegTimeoutMs(2, undefined, 4 * 3600)).toBe(120_000)
    expect(ffmpegTimeoutMs(60, undefined, 4 * 3600)).toBe(600_000)
    expect(ffmpegTimeoutMs(10 * 3600, undefined, 24 * 3600)).toBe(MAX_TIMEOUT_MS)
    expect(MAX_TIMEOUT_MS).toBe(12 * 3600_000)
  })

  it('gives an input of unknown duration the budget of one MAX_DURATION_SECONDS long, not the ceiling', () => {
    expect(ffmpegTimeoutMs(null, undefined, 600)).toBe(6000_000)
    expect(ffmpegTimeoutMs(null, undefined, 4 * 3600)).toBe(MAX_TIMEOUT_MS)
  })

  it('lets the default MAX_DURATION_SECONDS (4 h) finish at the measured 2.3 s per input second', () => {
    expect(ffmpegTimeoutMs(4 * 3600, undefined, 4 * 3600)).toBeGreaterThan(4 * 3600 * 2.3 * 1000)
  })
})

describe('atCeiling', () => {
  it('makes a timeout at the ceiling permanent and leaves shorter ones to be retried', () => {
    const timeout = new ProcessError('FFmpeg timeout: ffmpeg ran longer than 43200s', 'timeout', '')
    const final = atCeiling(timeout, MAX_TIMEOUT_MS)
    expect(isPermanent(final)).toBe(true)
    expect(errorCode(final)).toBe('ffmpeg_timeout')
    expect((final as Error).message).toBe(timeout.message)
    expect(atCeiling(timeout, MAX_TIMEOUT_MS - 1)).toBe(timeout)
    const crash = new ProcessError('ffmpeg failed (exit code 1)', 'exit', '')
    expect(atCeiling(crash, MAX_TIMEOUT_MS)).toBe(crash)
  })
})

describe('error classes', () => {
  it('retries everything but permanent job errors', () => {
    expect(isPermanent(new PermanentJobError('no_video_stream', 'Input has no video stream'))).toBe(true)
    expect(isPermanent(new ProcessError('FFmpeg timeout', 'timeout', ''))).toBe(false)
    expect(isPermanent(new Error('EIO: i/o error, write'))).toBe(false)
  })

  it('says how many attempts were made', () => {
    expect(finalError('FFmpeg timeout', 3)).toBe('FFmpeg timeout (gave up after 3 attempts)')
    expect(finalError('Input has no video stream', 1)).toBe('Input has no video stream')
  })
})

describe('errorCode', () => {
  it('records the error class as a stable code', () => {
    expect(errorCode(new PermanentJobError('url_not_allowed', 'x'))).toBe('url_not_allowed')
    expect(errorCode(new AppError('download_failed', 'HTTP 503'))).toBe('download_failed')
    expect(errorCode(new ProcessError('killed', 'timeout', ''))).toBe('ffmpeg_timeout')
    expect(errorCode(new ProcessError('exit 1', 'exit', '', 1))).toBe('ffmpeg_exit')
    expect(errorCode(new Error('boom'))).toBe('internal_error')
  })
})
