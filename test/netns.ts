/**
 * Network namespaces for multi-host tests (test/partition.test.ts), with iproute2, as root.
 *
 * createNetwork(['redis', 'api', …]) makes one namespace per host, each with `lo` up and an
 * `eth0` on a private /24 (10.213.N.0/24, N one no route of this machine uses), all on a bridge
 * in a namespace of its own; the test process joins the bridge too, through a veth of its own
 * namespace (address .254), so it reaches every host directly. A host's bridge port can be set
 * down (`cut`: a silent partition, its packets go nowhere) and up again (`heal`).
 *
 * Processes run in a host with `ip netns exec`, as children of the test in process groups of
 * their own. Everything a run makes is named `vpp-<pid>-<host>` (namespaces) or `vpp<pid>r` (the
 * one interface in the test's namespace); close() stops the processes and removes it all, and
 * so does an exit hook if close() never ran. removeStale() removes what runs that crashed left
 * (names of that pattern whose pid is gone).
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** Namespaces this module makes: `vpp-<pid>-<host>`. */
const NAMESPACE = /^vpp-(\d+)-([a-z0-9]+)$/
/** The interface it makes in the test's own namespace: `vpp<pid>r`. */
const ROOT_LINK = /^\d+: (vpp(\d+)r)@/

/** `ip …`, rejecting with ip's own message. */
async function ip(...args: string[]): Promise<string> {
  try {
    return (await run('ip', args)).stdout
  } catch (error) {
    const { stderr, message } = error as { stderr?: string; message: string }
    throw new Error(`ip ${args.join(' ')}: ${(stderr || message).trim()}`)
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Why this machine cannot run the test (undefined: it can): not Linux, not root, or iproute2
 * unable to make a namespace, a veth pair or a bridge (tried in a throwaway namespace).
 */
export async function netnsUnavailable(): Promise<string | undefined> {
  if (process.platform !== 'linux') return 'network namespaces need Linux'
  if (process.getuid?.() !== 0) return 'not root (ip netns needs root)'
  const probe = `vpp-${process.pid}-probe`
  try {
    await ip('netns', 'add', probe)
  } catch (error) {
    return `cannot make a network namespace: ${(error as Error).message}`
  }
  try {
    await ip('-n', probe, 'link', 'add', 'name', 'probe0', 'type', 'veth', 'peer', 'name', 'probe1')
    await ip('-n', probe, 'link', 'add', 'name', 'br0', 'type', 'bridge')
    return undefined
  } catch (error) {
    return `cannot make veth pairs or bridges: ${(error as Error).message}`
  } finally {
    await ip('netns', 'del', probe).catch(() => {})
  }
}

/** SIGKILL every process in namespace `name` (by pid), then remove it. */
async function removeNamespace(name: string): Promise<void> {
  const pids = async () =>
    (await ip('netns', 'pids', name).catch(() => ''))
      .split('\n')
      .map(Number)
      .filter((pid) => pid > 0)
  for (let i = 0; i < 50; i++) {
    const left = await pids()
    if (left.length === 0) break
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {} // gone meanwhile
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  await ip('netns', 'del', name).catch(() => {}) // already gone
}

/** Namespaces and the root interface left by runs of this module whose process is gone. */
export async function removeStale(): Promise<string[]> {
  const removed: string[] = []
  for (const line of (await ip('netns', 'list')).split('\n')) {
    const name = line.split(' ')[0] ?? ''
    const pid = Number(NAMESPACE.exec(name)?.[1] ?? 0)
    if (pid === 0 || pid === process.pid || alive(pid)) continue
    await removeNamespace(name)
    removed.push(name)
  }
  for (const line of (await ip('-o', 'link', 'show')).split('\n')) {
    const [, name = '', pid = '0'] = ROOT_LINK.exec(line) ?? []
    if (Number(pid) === 0 || Number(pid) === process.pid || alive(Number(pid))) continue
    await ip('link', 'del', name).catch(() => {})
    removed.push(name)
  }
  return removed
}

/** A /24 of 10.213.0.0/16 that nothing in the test's namespace routes to: `10.213.N`. */
async function freeSubnet(): Promise<string> {
  const used = (await ip('-4', 'route', 'show', 'table', 'all')) + (await ip('-4', '-o', 'addr', 'show'))
  for (let i = 0; i < 254; i++) {
    const subnet = `10.213.${((process.pid + i) % 254) + 1}`
    if (!used.includes(`${subnet}.`)) return subnet
  }
  throw new Error('no free /24 in 10.213.0.0/16')
}

export interface HostProcess {
  child: ChildProcess
  /** Its stdout and stderr so far (the last 200 000 characters). */
  output(): string
  /** How many characters it has written so far (for `since` and waitFor's `since`). */
  cursor(): number
  /** What it wrote after `cursor` (as far as output() still holds it). */
  since(cursor: number): string
  /**
   * Resolves with the first match of `pattern` in its output (what came after `since`, a
   * cursor(), when given); rejects on timeout or exit.
   */
  waitFor(pattern: RegExp, timeoutMs: number, since?: number): Promise<RegExpExecArray>
  /** SIGTERM to its process group, SIGKILL after `graceMs`; safe twice. */
  stop(graceMs?: number): Promise<void>
}

export interface Network {
  /** `vpp-<pid>-`: every namespace of this network is named with it. */
  prefix: string
  /** The test's own address on the network. */
  self: string
  /** A host's address. */
  address(host: string): string
  /** A host's namespace (for `ip netns exec`). */
  namespace(host: string): string
  /** Run `command` in `host`'s namespace, in a process group of its own. */
  spawn(
    host: string,
    command: string,
    args: string[],
    options?: { env?: NodeJS.ProcessEnv; cwd?: string },
  ): HostProcess
  /** Set the host's bridge port down: nothing it sends arrives, nothing reaches it. */
  cut(host: string): Promise<void>
  /** Set it up again. */
  heal(host: string): Promise<void>
  /** Limit what the host sends to `rate` (tc tbf on its eth0, e.g. `2mbit`); null lifts it. */
  throttle(host: string, rate: string | null): Promise<void>
  /** Bytes the host has sent on its eth0. */
  sentBytes(host: string): Promise<number>
  /** Stop every process, remove every namespace and link; safe twice. */
  close(): Promise<void>
}

/** One namespace per host on a bridge, and the test on it too (see the top of this file). */
export async function createNetwork(hosts: string[]): Promise<Network> {
  for (const host of hosts) {
    // The host's name is its bridge port's name too (at most 15 characters).
    if (!/^[a-z][a-z0-9]{0,9}$/.test(host) || host === 'br' || host === 'root' || host === 'probe')
      throw new Error(`bad host name ${host}`)
  }
  const prefix = `vpp-${process.pid}-`
  const bridge = `${prefix}br`
  const rootLink = `vpp${process.pid}r`
  const namespaces: string[] = []
  const processes: HostProcess[] = []
  const subnet = await freeSubnet()
  const addresses = new Map(hosts.map((host, i) => [host, `${subnet}.${i + 1}`]))
  const namespace = (host: string) => {
    if (!addresses.has(host)) throw new Error(`no host ${host}`)
    return `${prefix}${host}`
  }

  // If the test process exits without close() (a crash of the worker), still remove it all.
  const onExit = () => {
    for (const name of namespaces) {
      try {
        const pids = execFileSync('ip', ['netns', 'pids', name]).toString().split('\n').map(Number)
        for (const pid of pids.filter((p) => p > 0)) process.kill(pid, 'SIGKILL')
      } catch {}
      try {
        execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' })
      } catch {}
    }
    try {
      execFileSync('ip', ['link', 'del', rootLink], { stdio: 'ignore' })
    } catch {}
  }
  process.once('exit', onExit)

  let closing: Promise<void> | undefined
  const close = () => {
    closing ??= (async () => {
      await Promise.allSettled(processes.map((p) => p.stop()))
      for (const name of namespaces) await removeNamespace(name)
      // Gone with its peer in the bridge's namespace; removed here in case that failed half-way.
      await ip('link', 'del', rootLink).catch(() => {})
      process.off('exit', onExit)
    })()
    return closing
  }

  try {
    await ip('netns', 'add', bridge)
    namespaces.push(bridge)
    await ip('-n', bridge, 'link', 'add', 'name', 'br0', 'type', 'bridge')
    await ip('-n', bridge, 'link', 'set', 'br0', 'up')
    for (const host of hosts) {
      const ns = namespace(host)
      await ip('netns', 'add', ns)
      namespaces.push(ns)
      await ip('-n', ns, 'link', 'set', 'lo', 'up')
      await ip('-n', bridge, 'link', 'add', 'name', host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns)
      await ip('-n', bridge, 'link', 'set', host, 'master', 'br0', 'up')
      await ip('-n', ns, 'addr', 'add', `${addresses.get(host)}/24`, 'dev', 'eth0')
      await ip('-n', ns, 'link', 'set', 'eth0', 'up')
    }
    await ip('link', 'add', 'name', rootLink, 'type', 'veth', 'peer', 'name', 'root', 'netns', bridge)
    await ip('-n', bridge, 'link', 'set', 'root', 'master', 'br0', 'up')
    await ip('addr', 'add', `${subnet}.254/24`, 'dev', rootLink)
    await ip('link', 'set', rootLink, 'up')
  } catch (error) {
    await close()
    throw error
  }

  /** A host's port on the bridge, named after it. */
  const setPort = async (host: string, state: 'up' | 'down') => {
    namespace(host)
    await ip('-n', bridge, 'link', 'set', host, state)
  }

  return {
    prefix,
    self: `${subnet}.254`,
    address(host) {
      namespace(host)
      return addresses.get(host) ?? ''
    },
    namespace,
    spawn(host, command, args, options = {}) {
      const process = spawnIn(namespace(host), command, args, options)
      processes.push(process)
      return process
    },
    cut: (host) => setPort(host, 'down'),
    heal: (host) => setPort(host, 'up'),
    async throttle(host, rate) {
      const tc = ['netns', 'exec', namespace(host), 'tc', 'qdisc']
      // A short queue (64 KB): a bulk upload does not hold up the host's other packets for long.
      const tbf = ['tbf', 'rate', rate ?? '', 'burst', '32kbit', 'limit', '64kb']
      if (rate === null) await ip(...tc, 'del', 'dev', 'eth0', 'root').catch(() => {})
      else await ip(...tc, 'replace', 'dev', 'eth0', 'root', ...tbf)
    },
    async sentBytes(host) {
      const [link] = JSON.parse(await ip('-n', namespace(host), '-j', '-s', 'link', 'show', 'eth0')) as {
        stats64: { tx: { bytes: number } }
      }[]
      return link?.stats64.tx.bytes ?? 0
    },
    close,
  }
}

function spawnIn(
  ns: string,
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string },
): HostProcess {
  // ip netns exec execs the command: the child's pid (and process group) is the command's.
  const child = spawn('ip', ['netns', 'exec', ns, command, ...args], {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  let output = ''
  let received = 0
  const listeners = new Set<() => void>()
  const after = (cursor: number) => output.slice(Math.max(0, cursor - (received - output.length)))
  const onData = (data: Buffer) => {
    const text = data.toString()
    received += text.length
    output = (output + text).slice(-200_000)
    for (const listener of listeners) listener()
  }
  child.stdout?.on('data', onData)
  child.stderr?.on('data', onData)
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve()
    child.once('exit', () => resolve())
    child.once('error', () => resolve())
  })
  const group = (signal: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, signal)
    } catch {} // already gone
  }
  return {
    child,
    output: () => output,
    cursor: () => received,
    since: (cursor) => after(cursor),
    waitFor(pattern, timeoutMs, since = 0) {
      return new Promise((resolve, reject) => {
        const done = (error?: Error, match?: RegExpExecArray) => {
          clearTimeout(timer)
          listeners.delete(check)
          child.off('exit', onExit)
          if (match) resolve(match)
          else reject(error)
        }
        const check = () => {
          const match = pattern.exec(after(since))
          if (match) done(undefined, match)
        }
        const onExit = (code: number | null, signal: string | null) =>
          done(
            new Error(
              `${command} in ${ns} exited (${code ?? signal}) before ${pattern}: ${output.slice(-2000)}`,
            ),
          )
        const timer = setTimeout(
          () =>
            done(
              new Error(`${command} in ${ns}: no ${pattern} within ${timeoutMs} ms: ${output.slice(-2000)}`),
            ),
          timeoutMs,
        )
        listeners.add(check)
        child.once('exit', onExit)
        check()
        if (child.exitCode !== null || child.signalCode !== null) onExit(child.exitCode, child.signalCode)
      })
    },
    async stop(graceMs = 5000) {
      group('SIGTERM')
      let timer: NodeJS.Timeout | undefined
      await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))])
      clearTimeout(timer)
      group('SIGKILL') // whatever it left in its group
      await exited
    },
  }
}
