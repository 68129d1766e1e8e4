import { spawn, spawnSync } from 'node:child_process'
import { parentDeathSignal } from './executables.ts'

export interface RunOptions {
  /** Kill the process group after this long. */
  timeoutMs: number
  /** Kill the process group when aborted (cancel, shutdown). */
  signal?: AbortSignal
  /** Keep at most this much of stdout (ffprobe's JSON). */
  maxStdout?: number
  /** Called with each line of stdout (ffmpeg's -progress output). */
  onLine?: (line: string) => void
  /** Run at this nice level (lower priority), so the service's own work stays responsive. */
  nice?: number
  /** Most memory the process may map, in MB (RLIMIT_AS): allocations past it fail. 0 or unset: no limit. */
  memoryLimitMb?: number
  /**
   * Kill the process group when it prints no line on stdout for this long (a run that reports
   * progress twice a second and stops: hung). 0 or unset: never.
   */
  stallTimeoutMs?: number
}

export interface RunResult {
  stdout: string
  stderr: string
}

/** How much of stderr is kept for the error message (its end: where ffmpeg says what went wrong). */
const STDERR_TAIL = 4096

export class ProcessError extends Error {
  constructor(
    message: string,
    readonly reason: 'exit' | 'timeout' | 'stalled' | 'aborted' | 'spawn',
    readonly stderr: string,
    readonly exitCode: number | null = null,
    /** The signal that ended it when it was killed from outside (`SIGKILL`: the OOM killer, most likely). */
    readonly signal: NodeJS.Signals | null = null,
    /** The memory limit it ran under, in MB (0: none). */
    readonly memoryLimitMb = 0,
  ) {
    super(message)
    this.name = 'ProcessError'
  }
}

/** What a child process may see of the environment: the search path and the locale. */
const KEPT_VARIABLES = ['PATH', 'LANG', 'LC_ALL', 'LC_CTYPE']

/**
 * The environment ffmpeg and ffprobe run with: only KEPT_VARIABLES. Never the transcoder's own
 * (AWS_SECRET_ACCESS_KEY, REDIS_URL with its password, API_KEYS): nothing a hostile input could
 * make a decoder bug leak, and no variable that changes ffmpeg's behaviour (FFREPORT, ...).
 */
export function childEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const kept: Record<string, string> = {}
  for (const name of KEPT_VARIABLES) {
    const value = env[name]
    if (value !== undefined) kept[name] = value
  }
  return kept
}

let prlimit: boolean | undefined

/**
 * Prefix that runs a command with its address space limited to `mb` MB: util-linux's `prlimit`
 * sets RLIMIT_AS on itself and execs the command (same process). Empty where there is no
 * prlimit (macOS): no limit there.
 */
export function memoryLimit(mb: number): string[] {
  if (mb <= 0) return []
  prlimit ??= spawnSync('prlimit', ['--version'], { stdio: 'ignore' }).status === 0
  return prlimit ? ['prlimit', `--as=${mb * 1024 * 1024}`] : []
}

/** The command line actually spawned: [setpriv --pdeathsig KILL] [prlimit --as=B] [nice -n N] bin args. */
export function wrapCommand(
  bin: string,
  args: readonly string[],
  { nice = 0, memoryLimitMb = 0 }: Pick<RunOptions, 'nice' | 'memoryLimitMb'> = {},
  // The kernel kills ffmpeg if this process dies, even by SIGKILL: no orphan encodes for nobody.
  wrapper = parentDeathSignal('KILL'),
): string[] {
  return [
    ...wrapper,
    ...memoryLimit(memoryLimitMb),
    ...(nice > 0 ? ['nice', '-n', String(nice)] : []),
    bin,
    ...args,
  ]
}

/**
 * Run ffmpeg or ffprobe: an argument array (never a shell), stdin closed, in a process group of
 * its own so a timeout or cancel kills it and anything it started, and killed by the kernel if
 * this process dies. Rejects with a ProcessError that carries the tail of stderr.
 */
export function runProcess(bin: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  const name = bin.split('/').pop() ?? bin
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) return reject(new ProcessError(`${name} cancelled`, 'aborted', ''))
    const [command = bin, ...argv] = wrapCommand(bin, args, options)
    const child = spawn(command, argv, {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: childEnv(process.env),
    })
    let stdout = ''
    let stderr = ''
    let ended: ProcessError['reason'] | undefined
    const maxStdout = options.maxStdout ?? 16 * 1024 * 1024
    let partial = ''
    let stall: NodeJS.Timeout | undefined
    const watch = () => {
      if (!options.stallTimeoutMs) return
      clearTimeout(stall)
      stall = setTimeout(() => killGroup('stalled'), options.stallTimeoutMs)
    }
    child.stdout.on('data', (data: Buffer) => {
      watch()
      const text = data.toString()
      if (stdout.length < maxStdout) stdout += text
      if (options.onLine) {
        const lines = (partial + text).split('\n')
        partial = lines.pop() ?? ''
        for (const line of lines) options.onLine(line)
      }
    })
    child.stderr.on('data', (data: Buffer) => {
      stderr = (stderr + data.toString()).slice(-STDERR_TAIL)
    })
    const killGroup = (why: 'timeout' | 'stalled' | 'aborted') => {
      ended ??= why
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL')
      } catch {
        child.kill('SIGKILL') // the group is already gone; make sure the child is too
      }
    }
    const timer = setTimeout(() => killGroup('timeout'), options.timeoutMs)
    watch()
    const onAbort = () => killGroup('aborted')
    options.signal?.addEventListener('abort', onAbort, { once: true })
    const cleanup = () => {
      clearTimeout(timer)
      clearTimeout(stall)
      options.signal?.removeEventListener('abort', onAbort)
    }
    child.once('error', (error: NodeJS.ErrnoException) => {
      cleanup()
      const message =
        error.code === 'ENOENT' ? `${name} not found (${bin})` : `${name} failed to start: ${error.message}`
      reject(new ProcessError(message, 'spawn', ''))
    })
    child.once('close', (code, signal) => {
      cleanup()
      const failure = closeFailure({ name, bin, command, options, stderr }, ended, code, signal)
      if (failure) reject(failure)
      else resolve({ stdout, stderr })
    })
  })
}

/** Why a run that closed failed (a kill of ours, an exit status, a signal); null when it did not. */
function closeFailure(
  run: { name: string; bin: string; command: string; options: RunOptions; stderr: string },
  ended: ProcessError['reason'] | undefined,
  code: number | null,
  signal: NodeJS.Signals | null,
): ProcessError | null {
  const { name, bin, command, options, stderr } = run
  if (ended === 'timeout') {
    return new ProcessError(
      `FFmpeg timeout: ${name} ran longer than ${options.timeoutMs / 1000}s`,
      'timeout',
      stderr,
    )
  }
  if (ended === 'stalled') {
    const quiet = (options.stallTimeoutMs ?? 0) / 1000
    return new ProcessError(`${name} stalled: no progress for ${quiet}s`, 'stalled', stderr)
  }
  if (ended === 'aborted') return new ProcessError(`${name} cancelled`, 'aborted', stderr)
  if (code === 0) return null
  if (command !== bin && code === 127 && /failed to execute|No such file/.test(stderr)) {
    return new ProcessError(`${name} not found (${bin})`, 'spawn', stderr)
  }
  const last = lastLine(stderr)
  const how = code === null ? `killed by ${signal}` : `exit code ${code}`
  return new ProcessError(
    `${name} failed (${how})${last ? `: ${last}` : ''}`,
    'exit',
    stderr,
    code,
    signal,
    memoryLimit(options.memoryLimitMb ?? 0).length > 0 ? (options.memoryLimitMb ?? 0) : 0,
  )
}

/** The last non-empty line of a tool's stderr: usually the sentence that says what went wrong. */
export function lastLine(text: string): string {
  const lines = text.split(/\r?\n/).map((l) => l.trim())
  return (
    lines
      .filter((l) => l !== '')
      .pop()
      ?.slice(0, 300) ?? ''
  )
}
