import { spawnSync } from 'node:child_process'

/** True when `command` runs (an absolute path, or a name found on PATH). */
export function commandExists(command: string, versionFlag = '-version'): boolean {
  const result = spawnSync(command, [versionFlag], { stdio: 'ignore', timeout: 10_000 })
  return result.error === undefined && result.status === 0
}

/** One line telling how to install a missing system program. */
export function installHint(program: 'redis-server' | 'ffmpeg'): string {
  return (
    `${program} was not found on PATH. Install it with \`sudo apt-get install -y ${program}\` ` +
    `(Debian/Ubuntu), \`brew install ${program === 'redis-server' ? 'redis' : 'ffmpeg'}\` (macOS), ` +
    'or run `sudo bash scripts/install-system-deps.sh`.'
  )
}

let pdeathsig: boolean | undefined

/**
 * Prefix for a child that must not outlive this process: util-linux's `setpriv --pdeathsig`
 * (Linux) has the kernel signal it when this process dies, even by SIGKILL. Empty elsewhere.
 */
export function parentDeathSignal(signal: 'KILL' | 'TERM'): string[] {
  pdeathsig ??=
    process.platform === 'linux' && spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).status === 0
  return pdeathsig ? ['setpriv', '--pdeathsig', signal] : []
}
