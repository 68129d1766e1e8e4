import type { ProgressStream } from './progress.ts'

/** Where a command writes: results on stdout, progress and messages on stderr. */
export interface Output {
  stdout: { write(text: string): unknown }
  stderr: ProgressStream
  /** `--json`: stdout gets JSON only. */
  json: boolean
}

/** A command's answer: JSON with --json, else the text. */
export function print(out: Output, value: unknown, text: () => string): void {
  out.stdout.write(out.json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`)
}

/** A line on stderr. */
export function say(out: Output, text: string): void {
  out.stderr.write(`${text}\n`)
}
