/** Helpers shared by the benchmark suites: percentiles, tables, JSON results, machine facts, RSS. */
import { readFile, writeFile } from 'node:fs/promises'
import { availableParallelism, cpus, totalmem } from 'node:os'

/** p-th percentile (0-100) of `samples`, nearest rank. */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return Number.NaN
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number
}

export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits

/** The machine a result was measured on. */
export function machine() {
  return {
    date: new Date().toISOString(),
    cores: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
    memory_gib: round(totalmem() / 1024 ** 3),
    node: process.version,
  }
}

/** Print rows as a table and, with `output`, write `{ machine, suite, rows, ...extra }` as JSON. */
export async function report(
  suite: string,
  rows: Array<Record<string, unknown>>,
  output?: string,
  extra = {},
) {
  console.log(`\n${suite}`)
  console.table(rows)
  if (output) {
    await writeFile(output, `${JSON.stringify({ suite, machine: machine(), ...extra, rows }, null, 2)}\n`)
    console.log(`written: ${output}`)
  }
}

/** Resolve after `ms`. */
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Peak (VmHWM) and current (VmRSS) resident set of process `pid`, in MiB (Linux). */
export async function memory(pid: number): Promise<{ peak: number; now: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kib = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN)
  return { peak: kib('VmHWM') / 1024, now: kib('VmRSS') / 1024 }
}

/** CPU time process `pid` has used so far (user + system), in seconds (Linux; /proc counts in 1/100 s). */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name (which may hold spaces), from field 3: utime is 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}
