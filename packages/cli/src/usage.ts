import { parseArgs } from 'node:util'
import { JOB_STATUSES } from '@vpp/shared/api/constants'

/** An error the CLI reports in a line of its own and exits with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message)
  }
}

/** A command line that cannot run (exit 2): reported with the usage of `command`, or of vpp. */
export class UsageError extends CliError {
  constructor(
    message: string,
    readonly command?: CommandSpec,
  ) {
    super(message, 2)
  }
}

interface OptionSpec {
  type: 'string' | 'boolean'
  short?: string
  /** The value's placeholder in the help. */
  value?: string
  help: string
}

export interface CommandSpec {
  name: string
  /** Positional arguments, all required. */
  args: string[]
  summary: string
  options: Record<string, OptionSpec>
}

const COMMON: Record<string, OptionSpec> = {
  json: { type: 'boolean', help: 'print the answer as JSON on stdout' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
}

/** `vpp upload`'s watermark: any one asks for it (without an image, the key's default). */
const WATERMARK_OPTIONS: Record<string, OptionSpec> = {
  'watermark-image': {
    type: 'string',
    value: 'ID|PNG',
    help: 'a stored image (wm_…), or a PNG file, stored first',
  },
  'watermark-position': {
    type: 'string',
    value: 'POS',
    help: 'top-left, top-right, bottom-left, bottom-right or center (default bottom-right)',
  },
  'watermark-width': {
    type: 'string',
    value: 'F',
    help: "its width, a fraction of the video's (default 0.15)",
  },
  'watermark-margin': {
    type: 'string',
    value: 'F',
    help: "its margin, a fraction of the video's width (0.02)",
  },
}

export const COMMANDS: CommandSpec[] = [
  {
    name: 'upload',
    args: ['FILE|URL'],
    summary: 'upload a video (resumable: run it again after a failure) or import one from a URL',
    options: {
      profiles: {
        type: 'string',
        value: 'P,…',
        help: 'the profiles to make (default: every configured one but audio)',
      },
      metadata: { type: 'string', value: 'JSON', help: 'your own JSON object, kept with the job' },
      'callback-url': { type: 'string', value: 'URL', help: "where this job's webhooks go" },
      clip: { type: 'string', value: 'START-END', help: 'transcode only this range, in seconds: 12.5-30' },
      'normalize-audio': { type: 'boolean', help: 'normalise the loudness to -16 LUFS (EBU R128)' },
      ...WATERMARK_OPTIONS,
      'chunk-size': { type: 'string', value: 'SIZE', help: 'bytes per request, e.g. 8MiB (default 64MiB)' },
      wait: { type: 'boolean', help: 'follow the transcode, then print the playback URLs' },
    },
  },
  {
    name: 'wait',
    args: ['JOB_ID'],
    summary: 'follow a job to its end, then print its playback URLs',
    options: {},
  },
  {
    name: 'jobs',
    args: [],
    summary: 'list jobs, newest first',
    options: {
      status: { type: 'string', value: 'STATUS', help: `only these: ${JOB_STATUSES.join(', ')}` },
      limit: { type: 'string', value: 'N', help: 'jobs per page, 1-100 (default 20)' },
      cursor: { type: 'string', value: 'CURSOR', help: 'the next page, as the last one said' },
    },
  },
  { name: 'job', args: ['JOB_ID'], summary: 'show one job, its outputs and playback URLs', options: {} },
  { name: 'cancel', args: ['JOB_ID'], summary: 'cancel a queued, retrying or running job', options: {} },
  { name: 'delete', args: ['JOB_ID'], summary: 'delete a job, its files and its dead letter', options: {} },
  {
    name: 'original',
    args: ['JOB_ID'],
    summary: "print a short-lived URL to the job's upload (kept with KEEP_ORIGINALS)",
    options: { output: { type: 'string', short: 'o', value: 'FILE', help: 'download it to FILE instead' } },
  },
  {
    name: 'dlq',
    args: [],
    summary: 'list the dead-letter queue (failed jobs), oldest first',
    options: {
      limit: { type: 'string', value: 'N', help: 'entries per page, 1-1000 (default 100)' },
      after: { type: 'string', value: 'MESSAGE_ID', help: 'the next page: entries after this one' },
    },
  },
  {
    name: 'dlq retry',
    args: ['ID'],
    summary: 'queue a dead-lettered job again (ID: its message id or job id)',
    options: {},
  },
  {
    name: 'dlq discard',
    args: ['ID'],
    summary: 'drop a dead-letter entry; the job stays failed (ID: message id or job id)',
    options: {},
  },
  { name: 'stats', args: [], summary: 'queue depth and job counts', options: {} },
  {
    name: 'thumbnail',
    args: ['JOB_ID'],
    summary: 'save a frame of a completed job as a JPEG, rendered on demand',
    options: {
      time: { type: 'string', value: 'SECONDS', help: 'where in the video (default a quarter in)' },
      width: { type: 'string', value: 'PX', help: 'width, even, up to 1920 (default the top rendition’s)' },
      output: { type: 'string', short: 'o', value: 'FILE', help: 'where to write it (default JOB_ID.jpg)' },
    },
  },
  {
    name: 'preview',
    args: ['JOB_ID'],
    summary: 'save an animated WebP preview of a completed job, rendered on demand',
    options: {
      start: { type: 'string', value: 'SECONDS', help: 'where it starts (default 0)' },
      end: {
        type: 'string',
        value: 'SECONDS',
        help: 'where it ends, at most 10 s later (default start + 5)',
      },
      fps: { type: 'string', value: 'N', help: 'frames a second, 1-30 (default 15)' },
      width: { type: 'string', value: 'PX', help: 'width, even, up to 640 (default 320)' },
      output: { type: 'string', short: 'o', value: 'FILE', help: 'where to write it (default JOB_ID.webp)' },
    },
  },
  {
    name: 'watermark add',
    args: ['FILE'],
    summary: 'store a PNG for your jobs (`--watermark-image ID`); prints its id',
    options: { default: { type: 'boolean', help: 'your default: used when --watermark-* names no image' } },
  },
  {
    name: 'watermark list',
    args: [],
    summary: 'list your stored watermark images, newest first',
    options: {},
  },
  { name: 'watermark delete', args: ['ID'], summary: 'delete a stored watermark image', options: {} },
  {
    name: 'captions add',
    args: ['JOB_ID', 'FILE'],
    summary: "add a WebVTT or SRT caption track to a completed job's HLS stream",
    options: {
      language: { type: 'string', value: 'TAG', help: 'its BCP 47 language: en, pt-BR (required)' },
      label: { type: 'string', value: 'NAME', help: "its name in players' menus (required)" },
    },
  },
  { name: 'captions list', args: ['JOB_ID'], summary: "list a job's caption tracks", options: {} },
  { name: 'captions delete', args: ['JOB_ID', 'CAPTION_ID'], summary: 'delete a caption track', options: {} },
]

export type Parsed =
  | {
      kind: 'run'
      command: CommandSpec
      args: string[]
      values: Record<string, string | boolean | undefined>
    }
  | { kind: 'help'; text: string }
  | { kind: 'version' }

/** The command a command line names, its arguments and options; UsageError for anything else. */
export function parseCommandLine(argv: string[]): Parsed {
  const [first, second] = argv
  if (first === undefined) throw new UsageError('no command given')
  if (first === '-h' || first === '--help') return { kind: 'help', text: usage() }
  if (first === '--version' || first === '-v') return { kind: 'version' }
  if (first === 'help') {
    const name = argv.slice(1).join(' ')
    const command = COMMANDS.find((c) => c.name === name)
    if (name && !command) throw new UsageError(`unknown command: ${name}`)
    return { kind: 'help', text: command ? usage(command) : usage() }
  }
  const twoWords = COMMANDS.find((c) => c.name === `${first} ${second}`)
  const command = twoWords ?? COMMANDS.find((c) => c.name === first)
  if (!command) throw new UsageError(`unknown command: ${first}`)
  const rest = argv.slice(twoWords ? 2 : 1)
  const specs = { ...command.options, ...COMMON }
  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({
      args: rest,
      options: Object.fromEntries(
        Object.entries(specs).map(([name, spec]) => [
          name,
          spec.short ? { type: spec.type, short: spec.short } : { type: spec.type },
        ]),
      ),
      allowPositionals: true,
      strict: true,
    })
  } catch (error) {
    const message = (error as Error).message
    const unknown = /^Unknown option '([^']+)'/.exec(message)
    throw new UsageError(unknown ? `unknown option: ${unknown[1]}` : message, command)
  }
  if (parsed.values.help) return { kind: 'help', text: usage(command) }
  const args = parsed.positionals
  const missing = command.args[args.length]
  if (missing) throw new UsageError(`missing ${missing}`, command)
  if (args.length > command.args.length) throw new UsageError(`unexpected argument: ${args.at(-1)}`, command)
  return { kind: 'run', command, args, values: parsed.values as Record<string, string | boolean | undefined> }
}

/** `vpp --help`, or one command's. */
export function usage(command?: CommandSpec): string {
  if (command) {
    const options = Object.entries({ ...command.options, ...COMMON }).map(([name, spec]) => [
      `${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.value ? ` ${spec.value}` : ''}`,
      spec.help,
    ])
    return [
      `Usage: vpp ${[command.name, ...command.args].join(' ')}${Object.keys(command.options).length ? ' [options]' : ''}`,
      '',
      `${command.summary[0]?.toUpperCase()}${command.summary.slice(1)}.`,
      '',
      'Options:',
      ...aligned(options),
      '',
    ].join('\n')
  }
  return [
    'Usage: vpp <command> [options]',
    '',
    'Commands:',
    ...aligned(COMMANDS.map((c) => [[c.name, ...c.args].join(' '), c.summary])),
    '',
    'Options: --json (the answer as JSON on stdout), -h/--help (vpp COMMAND --help for its options), --version',
    '',
    'Environment:',
    ...aligned([
      ['VPP_INGEST_URL', 'the ingest service (default http://localhost:8000)'],
      ['VPP_STATUS_URL', 'the status service (default http://localhost:8001)'],
      ['VPP_API_KEY', 'sent as Authorization: Bearer …, when the pipeline has API keys'],
    ]),
    '',
    'Exit status: 0 done (with --wait: the job completed), 1 an error, or the job failed or was',
    'canceled, 2 a usage error, 130 interrupted (an upload then resumes when run again).',
    '',
  ].join('\n')
}

function aligned(rows: string[][]): string[] {
  const width = Math.max(...rows.map((row) => (row[0] ?? '').length))
  return rows.map(([left = '', right = '']) => `  ${left.padEnd(width)}  ${right}`)
}

/** `--name`'s whole number within [min, max], or undefined when not given. */
export function intOption(
  values: Record<string, unknown>,
  name: string,
  min: number,
  max: number,
  command: CommandSpec,
): number | undefined {
  const value = values[name]
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}`, command)
  }
  return n
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  kib: 1024,
  m: 1e6,
  mb: 1e6,
  mib: 1024 ** 2,
  g: 1e9,
  gb: 1e9,
  gib: 1024 ** 3,
}

/** A size such as 1048576, 512KiB, 8MB or 1.5GiB, in bytes. */
export function parseSize(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim())
  const unit = match ? SIZE_UNITS[match[2]?.toLowerCase() ?? ''] : undefined
  if (!match || unit === undefined) return undefined
  return Math.round(Number(match[1]) * unit)
}
