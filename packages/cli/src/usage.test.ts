import { describe, expect, it } from 'vitest'
import { parseCommandLine, parseSize, UsageError } from './usage.ts'

const usageError = (argv: string[]) => {
  try {
    parseCommandLine(argv)
  } catch (error) {
    if (error instanceof UsageError) return { message: error.message, command: error.command?.name }
    throw error
  }
  throw new Error(`${argv.join(' ')} parsed`)
}

describe('parseCommandLine', () => {
  it('finds the command, two-word ones first, with its arguments and options', () => {
    const parsed = parseCommandLine(['upload', 'clip.mp4', '--profiles', '360p,hls', '--wait', '--json'])
    expect(parsed).toMatchObject({
      kind: 'run',
      command: { name: 'upload' },
      args: ['clip.mp4'],
      values: { profiles: '360p,hls', wait: true, json: true },
    })
    expect(parseCommandLine(['dlq', 'retry', '1-0'])).toMatchObject({
      command: { name: 'dlq retry' },
      args: ['1-0'],
    })
    expect(parseCommandLine(['dlq', '--limit', '5'])).toMatchObject({ command: { name: 'dlq' }, args: [] })
  })

  it('answers help and version', () => {
    expect(parseCommandLine(['--help'])).toMatchObject({ kind: 'help' })
    expect(parseCommandLine(['help', 'dlq', 'retry'])).toMatchObject({
      kind: 'help',
      text: expect.stringContaining('Usage: vpp dlq retry ID'),
    })
    expect(parseCommandLine(['jobs', '-h'])).toMatchObject({
      kind: 'help',
      text: expect.stringContaining('--status STATUS'),
    })
    expect(parseCommandLine(['--version'])).toEqual({ kind: 'version' })
  })

  it('refuses what cannot run, naming the command whose usage to show', () => {
    expect(usageError([])).toEqual({ message: 'no command given', command: undefined })
    expect(usageError(['frobnicate'])).toEqual({ message: 'unknown command: frobnicate', command: undefined })
    expect(usageError(['jobs', '--bogus'])).toEqual({ message: 'unknown option: --bogus', command: 'jobs' })
    expect(usageError(['job'])).toEqual({ message: 'missing JOB_ID', command: 'job' })
    expect(usageError(['job', 'a', 'b'])).toEqual({ message: 'unexpected argument: b', command: 'job' })
    expect(usageError(['dlq', 'retry'])).toEqual({ message: 'missing ID', command: 'dlq retry' })
    expect(usageError(['jobs', '--limit'])).toMatchObject({ command: 'jobs' })
  })
})

describe('parseSize', () => {
  it('reads bytes with decimal and binary units', () => {
    expect(['1048576', '512KiB', '8MB', '1.5GiB', '64 mib'].map(parseSize)).toEqual([
      1048576,
      512 * 1024,
      8e6,
      1.5 * 1024 ** 3,
      64 * 1024 ** 2,
    ])
    expect(['', 'lots', '-1', '5 parsecs'].map(parseSize)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ])
  })
})
