import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { childEnv, lastLine, ProcessError, runProcess, wrapCommand } from './run-process.ts'

/** ffmpeg that would run forever: an endless lavfi source into the null muxer. */
const ENDLESS = [
  '-hide_banner',
  '-nostdin',
  '-loglevel',
  'error',
  '-re',
  '-f',
  'lavfi',
  '-i',
  'testsrc',
  '-f',
  'null',
  '-',
]

function ffmpegProcessesWith(marker: string): string[] {
  try {
    return execFileSync('pgrep', ['-f', marker]).toString().trim().split('\n').filter(Boolean)
  } catch {
    return [] // pgrep exits 1 when nothing matches
  }
}

describe('childEnv', () => {
  it('keeps the search path and the locale, nothing else', () => {
    const env = {
      PATH: '/usr/bin',
      LANG: 'C.UTF-8',
      AWS_SECRET_ACCESS_KEY: 's',
      REDIS_URL: 'redis://:pw@h',
      HOME: '/root',
    }
    expect(childEnv(env)).toEqual({ PATH: '/usr/bin', LANG: 'C.UTF-8' })
  })

  it('is what a spawned process sees', async () => {
    process.env.VPP_TEST_SECRET = 'hidden-value'
    try {
      const { stdout } = await runProcess('env', [], { timeoutMs: 5000 })
      expect(stdout).not.toContain('hidden-value')
      expect(stdout).toContain('PATH=')
    } finally {
      delete process.env.VPP_TEST_SECRET
    }
  })
})

describe('runProcess', () => {
  it('returns stdout of a successful run', async () => {
    const { stdout } = await runProcess(
      'ffprobe',
      ['-v', 'error', '-print_format', 'json', '-show_format', '-f', 'lavfi', 'testsrc=duration=1'],
      {
        timeoutMs: 10_000,
      },
    )
    expect(JSON.parse(stdout).format.format_name).toBe('lavfi')
  })

  it("reports ffmpeg's own last words on failure", async () => {
    const error = await runProcess(
      'ffmpeg',
      ['-nostdin', '-i', '/nonexistent/input.mp4', '-f', 'null', '-'],
      {
        timeoutMs: 10_000,
      },
    ).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ProcessError)
    expect((error as ProcessError).reason).toBe('exit')
    expect((error as ProcessError).message).toMatch(
      /^ffmpeg failed \(exit code 1\): .*No such file or directory/,
    )
  })

  it('kills the process group on timeout and leaves no process behind', async () => {
    const marker = 'testsrc=size=97x61'
    const args = ENDLESS.map((a) => (a === 'testsrc' ? marker : a))
    const started = Date.now()
    const error = await runProcess('ffmpeg', args, { timeoutMs: 500 }).catch((e: unknown) => e)
    expect((error as ProcessError).reason).toBe('timeout')
    expect((error as ProcessError).message).toMatch(/^FFmpeg timeout/)
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(ffmpegProcessesWith(marker)).toEqual([])
  })

  it('kills the process when cancelled', async () => {
    const marker = 'testsrc=size=89x53'
    const controller = new AbortController()
    const run = runProcess(
      'ffmpeg',
      ENDLESS.map((a) => (a === 'testsrc' ? marker : a)),
      {
        timeoutMs: 60_000,
        signal: controller.signal,
      },
    )
    setTimeout(() => controller.abort(), 300)
    const error = await run.catch((e: unknown) => e)
    expect((error as ProcessError).reason).toBe('aborted')
    expect(ffmpegProcessesWith(marker)).toEqual([])
  })

  it('says so when the program is missing', async () => {
    const error = await runProcess('/nonexistent/ffmpeg', ['-version'], { timeoutMs: 1000 }).catch(
      (e: unknown) => e,
    )
    expect((error as ProcessError).reason).toBe('spawn')
    expect((error as ProcessError).message).toBe('ffmpeg not found (/nonexistent/ffmpeg)')
  })
})

describe('runProcess stall watch', () => {
  it('kills a run that stops printing lines, and spares one that keeps printing', async () => {
    const marker = `stall-${process.pid}-${Date.now()}`
    const started = Date.now()
    const error = await runProcess('sh', ['-c', `echo first; sleep 30 # ${marker}`], {
      timeoutMs: 60_000,
      stallTimeoutMs: 300,
      onLine: () => {},
    }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ProcessError)
    expect(error).toMatchObject({ reason: 'stalled', message: 'sh stalled: no progress for 0.3s' })
    // Killed long before its 30 s sleep, and its whole group with it.
    expect(Date.now() - started).toBeLessThan(20_000)
    expect(ffmpegProcessesWith(marker)).toEqual([])
    const { stdout } = await runProcess(
      'sh',
      ['-c', 'for i in 1 2 3 4 5 6 7 8; do echo $i; sleep 0.1; done'],
      { timeoutMs: 60_000, stallTimeoutMs: 300, onLine: () => {} },
    )
    expect(stdout.trim().split('\n')).toHaveLength(8)
  })
})

describe('lastLine', () => {
  it('picks the last non-empty line', () => {
    expect(lastLine('a\nb: Invalid data found when processing input\n\n')).toBe(
      'b: Invalid data found when processing input',
    )
    expect(lastLine('')).toBe('')
  })
})

describe('wrapCommand', () => {
  it('runs ffmpeg under the parent-death wrapper and a nice level when asked', () => {
    const wrapper = ['setpriv', '--pdeathsig', 'KILL']
    expect(wrapCommand('ffmpeg', ['-version'], { nice: 10 }, wrapper)).toEqual([
      'setpriv',
      '--pdeathsig',
      'KILL',
      'nice',
      '-n',
      '10',
      'ffmpeg',
      '-version',
    ])
    expect(wrapCommand('ffmpeg', ['-version'], {}, [])).toEqual(['ffmpeg', '-version'])
  })

  it('limits the address space with prlimit when a memory limit is set', () => {
    expect(wrapCommand('ffmpeg', ['-version'], { nice: 10, memoryLimitMb: 512 }, [])).toEqual([
      'prlimit',
      '--as=536870912',
      'nice',
      '-n',
      '10',
      'ffmpeg',
      '-version',
    ])
  })
})
