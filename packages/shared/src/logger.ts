import { type ConsolaInstance, createConsola, LogLevels } from 'consola'

export type LogFields = Record<string, unknown>

/** The one logging interface of the repo. Classes take a Logger; nothing calls console.* directly. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void
  info(msg: string, fields?: LogFields): void
  warn(msg: string, fields?: LogFields): void
  error(msg: string, fields?: LogFields): void
  /** A logger that adds `fields` (e.g. `{ job_id }`) to every line. */
  child(fields: LogFields): Logger
}

export interface LoggerOptions {
  service: string
  /** `json` lines or `pretty`; default: pretty on a terminal, JSON otherwise. */
  format?: 'json' | 'pretty' | undefined
  level?: 'silent' | 'error' | 'warn' | 'info' | 'debug'
  /** Where JSON lines go (default: stdout). */
  write?: (line: string) => void
}

/** JSON lines not yet written to stdout: those logged in this turn of the event loop. */
let pending: string[] = []
let flushesAtExit = false
const flushStdout = () => {
  if (pending.length === 0) return
  const lines = pending.join('')
  pending = []
  process.stdout.write(lines)
}
/**
 * stdout, one write a turn of the event loop: stdout to a file or a pipe is a synchronous
 * write(2) in Node, and a request log line per request made it one system call per request.
 * What is left is written at exit (process.exit, the end of the loop, an uncaught error).
 */
function writeStdout(line: string): void {
  if (pending.length === 0) {
    if (!flushesAtExit) process.once('exit', flushStdout)
    flushesAtExit = true
    setImmediate(flushStdout)
  }
  pending.push(line)
}

export function createLogger(options: LoggerOptions): Logger {
  const json = options.format ? options.format === 'json' : !process.stdout.isTTY
  if (json)
    return jsonLogger(options.service, LogLevels[options.level ?? 'info'], options.write ?? writeStdout, {})
  const consola = createConsola({
    level: LogLevels[options.level ?? 'info'],
    // No de-duplication of repeated lines: it JSON-serializes every line logged within a second
    // of the last one, and hides repeats an operator should see.
    throttle: 0,
    fancy: true,
  })
  return wrap(consola.withTag(options.service), {})
}

/**
 * JSON lines, `{ time, level, service, msg, ...fields }`, written straight (consola's log object,
 * its defaults and reporter loop cost a request log line more than the JSON itself); a level
 * writes when its rank (consola's LogLevels) is at most `threshold`'s.
 */
function jsonLogger(
  service: string,
  threshold: number,
  write: (line: string) => void,
  bound: LogFields,
): Logger {
  const emit = (type: 'debug' | 'info' | 'warn' | 'error') => {
    if (LogLevels[type] > threshold) return () => {} // below the level: nothing to build
    return (msg: string, fields?: LogFields) => {
      write(
        `${JSON.stringify({ time: new Date().toISOString(), level: type, service, msg: String(msg), ...bound, ...fields })}\n`,
      )
    }
  }
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (fields) => jsonLogger(service, threshold, write, { ...bound, ...fields }),
  }
}

function wrap(consola: ConsolaInstance, bound: LogFields): Logger {
  const emit = (type: 'debug' | 'info' | 'warn' | 'error') => (msg: string, fields?: LogFields) => {
    if (consola.level < LogLevels[type]) return // below the level: nothing to build
    const all = fields ? { ...bound, ...fields } : bound
    if (Object.keys(all).length === 0) consola[type](msg)
    else consola[type](msg, all)
  }
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (fields) => wrap(consola, { ...bound, ...fields }),
  }
}
