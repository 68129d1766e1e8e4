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
  memoryLimitMb,
  overMemoryLimit,
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
    expect(ffmpegTimeoutMs(5, 4 * 3600)).toBe(5000)
  })

  it('scales with MAX_DURATION_SECONDS (never a claimed duration): 10 s per second, at least 2 min, at most 12 h', () => {
    expect(ffmpegTimeoutMs(undefined, 2)).toBe(120_000)
    expect(ffmpegTimeoutMs(undefined, 60)).toBe(600_000)
    expect(ffmpegTimeoutMs(undefined, 600)).toBe(6000_000)
    expect(ffmpegTimeoutMs(undefined, 24 * 3600)).toBe(MAX_TIMEOUT_MS)
    expect(MAX_TIMEOUT_MS).toBe(12 * 3600_000)
  })

  it('lets the default MAX_DURATION_SECONDS (4 h) finish at the measured 2.3 s per input second', () => {
    expect(ffmpegTimeoutMs(undefined, 4 * 3600)).toBeGreaterThan(4 * 3600 * 2.3 * 1000)
  })
})

describe('memoryLimitMb', () => {
  it('grows with the threads per encoder, from the 4K 60 fps measurement', () => {
    expect(memoryLimitMb(0)).toBe(3456)
    expect(memoryLimitMb(1)).toBe(3456)
    expect(memoryLimitMb(8)).toBe(6144)
    expect(memoryLimitMb(16)).toBe(9216)
  })
})

describe('overMemoryLimit', () => {
  const refused = (stderr: string, limit = 512) =>
    new ProcessError('ffmpeg failed (exit code 1): x', 'exit', stderr, 1, null, limit)

  it('makes an allocation refused under a limit a permanent resource_limit naming the limit', () => {
    for (const said of [
      'x264 [error]: malloc of size 26999616 failed',
      '[libvpx-vp9 @ 0x1] Failed to initialize encoder: Memory allocation error',
      'file:input: Cannot allocate memory',
    ]) {
      const error = overMemoryLimit(refused(said))
      expect(error).toBeInstanceOf(PermanentJobError)
      expect(error).toMatchObject({
        code: 'resource_limit',
        message: 'ffmpeg needed more memory than its limit of 512 MB (FFMPEG_MEMORY_LIMIT_MB)',
      })
    }
  })

  it('leaves other failures, and allocation failures without a limit, as they were', () => {
    const other = refused('Invalid data found when processing input')
    expect(overMemoryLimit(other)).toBe(other)
    const unlimited = refused('Cannot allocate memory', 0)
    expect(overMemoryLimit(unlimited)).toBe(unlimited)
    const timeout = new ProcessError('t', 'timeout', 'Cannot allocate memory', null, null, 512)
    expect(overMemoryLimit(timeout)).toBe(timeout)
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
