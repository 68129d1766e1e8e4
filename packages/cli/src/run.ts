import { createClient, type JobStatus, type VppClient, VppError } from '@vpp/client'
import { JOB_STATUSES } from '@vpp/shared/api/constants'
import packageJson from '../package.json' with { type: 'json' }
import { captionsCommand } from './captions.ts'
import { type CliConfig, loadConfig } from './config.ts'
import { follow } from './follow.ts'
import { dlqTable, jobsTable, jobText, statsText } from './format.ts'
import { original } from './original.ts'
import { type Output, print, say } from './output.ts'
import type { ProgressStream } from './progress.ts'
import { render } from './render.ts'
import { upload } from './upload.ts'
import {
  CliError,
  type CommandSpec,
  intOption,
  type Parsed,
  parseCommandLine,
  UsageError,
  usage,
} from './usage.ts'
import { addWatermark, listWatermarks } from './watermark.ts'

export interface Io {
  env: Record<string, string | undefined>
  stdout: { write(text: string): unknown }
  stderr: ProgressStream
  /** Aborted on Ctrl-C. */
  signal: AbortSignal
}

/** A message id of the dead-letter stream (`1700000000000-0`), as against a job id. */
const MESSAGE_ID = /^\d{1,20}-\d{1,20}$/

/** Run one command line; the exit status. */
export async function run(argv: string[], io: Io): Promise<number> {
  const out: Output = { stdout: io.stdout, stderr: io.stderr, json: argv.includes('--json') }
  try {
    const parsed = parseCommandLine(argv)
    if (parsed.kind === 'help') {
      io.stdout.write(parsed.text)
      return 0
    }
    if (parsed.kind === 'version') {
      io.stdout.write(`vpp ${packageJson.version}\n`)
      return 0
    }
    const config = loadConfig(io.env)
    return await runCommand(createClient(config.client), config, parsed, out, io.signal)
  } catch (error) {
    return report(error, out, io.signal)
  }
}

/** A command line that names a command. */
type CommandLine = Extract<Parsed, { kind: 'run' }>
type Values = CommandLine['values']

/** One command, by its name; its exit status. */
async function runCommand(
  client: VppClient,
  config: CliConfig,
  { command, args, values }: CommandLine,
  out: Output,
  signal: AbortSignal,
): Promise<number> {
  const [id = ''] = args
  switch (command.name) {
    case 'upload':
      return await upload(client, config, command, id, values, out, signal)
    case 'wait':
      return await follow(client, id, out, signal)
    case 'jobs':
      return await listJobs(client, command, values, out)
    case 'job': {
      const job = await client.job(id)
      print(out, job, () => jobText(job))
      return 0
    }
    case 'cancel': {
      const answer = await client.cancel(id)
      print(out, answer, () => `job ${answer.job_id} canceled`)
      return 0
    }
    case 'delete':
      await client.delete(id)
      print(out, { job_id: id, deleted: true }, () => `job ${id} deleted`)
      return 0
    case 'original':
      return await original(client, id, values.output as string | undefined, out, signal)
    case 'dlq':
      return await listDeadLetters(client, command, values, out)
    case 'dlq retry': {
      const entry = await deadLetter(client, id)
      const answer = await client.retryDeadLetter(entry.message_id)
      print(out, answer, () => `job ${answer.job_id} queued again`)
      return 0
    }
    case 'dlq discard': {
      const entry = await deadLetter(client, id)
      await client.discardDeadLetter(entry.message_id)
      print(out, { ...entry, discarded: true }, () => `dead letter ${entry.message_id} discarded`)
      return 0
    }
    case 'thumbnail':
    case 'preview':
      return await render(client, command, id, values, out, signal)
    case 'stats': {
      const stats = await client.stats()
      print(out, stats, () => statsText(stats))
      return 0
    }
    case 'watermark add':
      return await addWatermark(client, id, values, out)
    case 'watermark list':
      return await listWatermarks(client, out)
    case 'watermark delete':
      await client.deleteWatermark(id)
      print(out, { watermark_id: id, deleted: true }, () => `watermark ${id} deleted`)
      return 0
    case 'captions add':
    case 'captions list':
    case 'captions delete':
      return await captionsCommand(client, command, args, values, out)
  }
  throw new Error(`command ${command.name} has no handler`)
}

/** `vpp jobs`: one page of the job list, and the command line of the next. */
async function listJobs(
  client: VppClient,
  command: CommandSpec,
  values: Values,
  out: Output,
): Promise<number> {
  const status = values.status as JobStatus | undefined
  if (status !== undefined && !JOB_STATUSES.includes(status)) {
    throw new UsageError(`--status must be one of ${JOB_STATUSES.join(', ')}`, command)
  }
  const page = await client.jobs({
    status,
    limit: intOption(values, 'limit', 1, 100, command),
    cursor: values.cursor as string | undefined,
  })
  print(out, page, () => jobsTable(page.jobs))
  if (page.next_cursor && !out.json) say(out, `more: vpp jobs --cursor ${page.next_cursor}`)
  return 0
}

/** `vpp dlq`: one page of the dead-letter queue, and the command line of the next. */
async function listDeadLetters(
  client: VppClient,
  command: CommandSpec,
  values: Values,
  out: Output,
): Promise<number> {
  const list = await client.dlq({
    limit: intOption(values, 'limit', 1, 1000, command),
    after: values.after as string | undefined,
  })
  print(out, list, () => (list.entries.length ? dlqTable(list.entries) : 'the dead-letter queue is empty'))
  const last = list.entries.at(-1)
  if (last && list.total > list.entries.length && !out.json) {
    say(out, `${list.total} in all; more: vpp dlq --after ${last.message_id}`)
  }
  return 0
}

/** The dead-letter entry `id` names: a message id as it is, a job id looked up in the queue. */
async function deadLetter(client: VppClient, id: string): Promise<{ message_id: string; job_id?: string }> {
  if (MESSAGE_ID.test(id)) return { message_id: id }
  for (let after: string | undefined; ; ) {
    const page = await client.dlq({ limit: 1000, after })
    const entry = page.entries.find((e) => e.job_id === id)
    if (entry) return entry
    after = page.entries.at(-1)?.message_id
    if (!after || page.entries.length < 1000) break
  }
  throw new CliError(`job ${id} is not in the dead-letter queue`)
}

/** The error on stderr (the server's `{ error, message }`; JSON with --json); its exit status. */
function report(error: unknown, out: Output, signal: AbortSignal): number {
  if (signal.aborted && !(error instanceof CliError)) {
    say(out, 'vpp: interrupted')
    return 130
  }
  if (error instanceof VppError) {
    out.stderr.write(
      out.json
        ? `${JSON.stringify({ error: error.code, message: error.message })}\n`
        : `vpp: ${error.code}: ${error.message}\n`,
    )
    return 1
  }
  if (error instanceof UsageError) {
    out.stderr.write(`vpp: ${error.message}\n\n${usage(error.command)}`)
    return 2
  }
  if (error instanceof CliError) {
    say(out, `vpp: ${error.message}`)
    return error.exitCode
  }
  say(out, `vpp: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
  return 1
}
