import { type ChildProcess, spawn } from 'node:child_process'
import { mkdir } from 'node:fs/promises'
import { createServer } from 'node:net'
import { parentDeathSignal } from './executables.ts'

export interface RedisServerHandle {
  readonly url: string
  readonly port: number
  /** Stop the server (SIGTERM: it writes its append-only file and exits). Safe to call twice. */
  stop(): Promise<void>
  /** Kill it with SIGKILL, as a crash would (resolves once it is gone). */
  crash(): Promise<void>
  /** Send it a signal: SIGSTOP freezes it (a silent partition, for tests), SIGCONT thaws it. */
  signal(signal: NodeJS.Signals): void
}

export interface RedisServerOptions {
  /** Working directory: the append-only file lives here. */
  dir: string
  /** Keep data across restarts (append-only file). Tests turn it off. */
  persistent?: boolean
  /**
   * With `persistent`: `everysec` (default) may lose the last second of writes if the machine or
   * Redis is killed; `always` fsyncs every write and loses nothing, at some throughput cost.
   */
  appendfsync?: 'everysec' | 'always'
  /** A fixed port (to restart a server where clients expect it); default: a free one. */
  port?: number
  bin?: string
}

/** Ask the OS for a free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()))
    })
  })
}

/**
 * Start a private redis-server on a free loopback port, for `npm start` without REDIS_URL and
 * for tests. Resolves once it accepts connections.
 */
export async function startRedisServer(options: RedisServerOptions): Promise<RedisServerHandle> {
  await mkdir(options.dir, { recursive: true })
  let lastError: unknown
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = options.port ?? (await freePort())
    try {
      const child = await spawnRedis(options, port)
      // However this process ends, its private Redis ends with it (SIGTERM: a clean shutdown).
      const onExit = () => child.kill('SIGTERM')
      process.once('exit', onExit)
      child.once('exit', () => process.off('exit', onExit))
      let stopped: Promise<void> | undefined
      const end = (signal: NodeJS.Signals) => {
        stopped ??= new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve()
          child.once('exit', () => resolve())
          child.kill(signal)
        })
        return stopped
      }
      return {
        url: `redis://127.0.0.1:${port}`,
        port,
        stop: () => end('SIGTERM'),
        crash: () => end('SIGKILL'),
        signal: (signal) => void child.kill(signal),
      }
    } catch (error) {
      lastError = error // most likely the port was taken between the check and the bind
    }
  }
  throw lastError
}

function spawnRedis(options: RedisServerOptions, port: number): Promise<ChildProcess> {
  const persistent = options.persistent ?? false
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    options.dir,
    '--appendonly',
    persistent ? 'yes' : 'no',
    '--appendfsync',
    options.appendfsync ?? 'everysec',
    '--save',
    '',
    '--daemonize',
    'no',
    '--protected-mode',
    'yes',
  ]
  return new Promise((resolve, reject) => {
    // A process group of its own: a terminal's Ctrl-C must not stop Redis before the services
    // have recorded what they were doing; stop() ends it last.
    // And it dies with this process, even one killed with SIGKILL (SIGTERM: a clean shutdown).
    const [command = 'redis-server', ...argv] = [
      ...parentDeathSignal('TERM'),
      options.bin ?? 'redis-server',
      ...args,
    ]
    const child = spawn(command, argv, {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    let output = ''
    const onData = (data: Buffer) => {
      output += data.toString()
      if (output.includes('Ready to accept connections')) {
        child.stdout?.off('data', onData)
        child.stdout?.resume()
        resolve(child)
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', (data: Buffer) => {
      output += data.toString()
    })
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${output.slice(-500)}`)))
  })
}
