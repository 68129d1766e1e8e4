import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { basename } from 'node:path'
import { DEFAULT_CHUNK_SIZE, type JobOptions, type VppClient } from '@vpp/client'
import type { CliConfig } from './config.ts'
import { follow } from './follow.ts'
import { type Output, print, say } from './output.ts'
import { formatBytes, formatElapsed, ProgressReporter, RateMeter, uploadLine } from './progress.ts'
import { FileUrlStorage } from './url-storage.ts'
import { CliError, type CommandSpec, parseSize, UsageError } from './usage.ts'
import { dropStoredWatermark, watermarkOption } from './watermark.ts'

/**
 * `vpp upload FILE|URL`: a file goes up over tus, resumable (a later run of the same command
 * resumes the same upload, found in the resume file by the file's path, size and mtime); a URL
 * is imported. Prints the job id (the job with --json), or with --wait follows it to its end.
 */
export async function upload(
  client: VppClient,
  config: CliConfig,
  command: CommandSpec,
  target: string,
  values: Record<string, string | boolean | undefined>,
  out: Output,
  signal: AbortSignal,
): Promise<number> {
  const base = jobOptions(values, command)
  const { option, stored } = await watermarkOption(client, values, command)
  const options = { ...base, ...option }
  let jobId: string
  // A PNG stored for this upload goes again once the job answered (it has its own copy from its
  // creation on), or the upload failed: never one the user named by id.
  try {
    if (/^https?:\/\//i.test(target)) {
      jobId = (await client.importUrl(target, options)).job_id
      say(out, `importing ${target} as job ${jobId}`)
    } else {
      const chunkSize =
        values['chunk-size'] === undefined ? DEFAULT_CHUNK_SIZE : parseSize(String(values['chunk-size']))
      if (!chunkSize || chunkSize < 1)
        throw new UsageError('--chunk-size must be a size such as 8MiB', command)
      jobId = await uploadFile(client, config, target, options, chunkSize, out, signal)
    }
  } finally {
    await dropStoredWatermark(client, stored, out)
  }
  if (values.wait) return follow(client, jobId, out, signal)
  if (out.json) print(out, await client.job(jobId), () => '')
  else out.stdout.write(`${jobId}\n`)
  return 0
}

async function uploadFile(
  client: VppClient,
  config: CliConfig,
  path: string,
  options: JobOptions,
  chunkSize: number,
  out: Output,
  signal: AbortSignal,
): Promise<string> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    throw new CliError(
      error.code === 'ENOENT' ? `no such file: ${path}` : `cannot read ${path}: ${error.message}`,
    )
  })
  if (!info.isFile()) throw new CliError(`not a file: ${path}`)
  if (info.size === 0) throw new CliError(`${path} is empty`)
  const reporter = new ProgressReporter(out.stderr)
  const meter = new RateMeter()
  let startedAt = performance.now()
  let from = 0
  const result = await client
    .upload(
      createReadStream(path),
      {
        ...options,
        filename: basename(path),
        chunkSize,
        signal,
        urlStorage: new FileUrlStorage(config.uploadsFile),
        onRetry(attempt, error) {
          reporter.note(`${error.message}; trying again (${attempt})`)
        },
        onStart(start) {
          from = start.resumed_from
          startedAt = performance.now()
          meter.add(from)
          reporter.note(
            from >= info.size
              ? `${path} was uploaded already, as job ${start.job_id}`
              : from > 0
                ? `resuming the upload of ${path} as job ${start.job_id} at ${formatBytes(from)} of ${formatBytes(info.size)}`
                : `uploading ${path} (${formatBytes(info.size)}) as job ${start.job_id}`,
          )
        },
      },
      (progress) => {
        meter.add(progress.sent)
        if (progress.sent < progress.total) {
          reporter.update(
            progress.sent / progress.total,
            uploadLine(progress.sent, progress.total, meter.perSecond()),
          )
        }
      },
    )
    .catch((error: unknown) => {
      reporter.end()
      if (signal.aborted)
        throw new CliError('interrupted: run the same command again to resume the upload', 130)
      throw error
    })
  const seconds = (performance.now() - startedAt) / 1000
  const average = seconds > 0 ? (result.size - from) / seconds : 0
  reporter.update(1, uploadLine(result.size, result.size, average))
  reporter.end()
  say(
    out,
    `uploaded ${formatBytes(result.size - from)} in ${formatElapsed(seconds)}; job ${result.job_id} queued`,
  )
  return result.job_id
}

/** --profiles, --metadata, --callback-url, --clip and --normalize-audio, checked as far as they can be here. */
function jobOptions(values: Record<string, string | boolean | undefined>, command: CommandSpec): JobOptions {
  const options: JobOptions = {}
  if (typeof values.profiles === 'string') {
    const profiles = values.profiles
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean)
    if (profiles.length === 0) throw new UsageError('--profiles must name at least one profile', command)
    options.profiles = profiles
  }
  if (typeof values.metadata === 'string') {
    let metadata: unknown
    try {
      metadata = JSON.parse(values.metadata)
    } catch {
      throw new UsageError('--metadata must be JSON text', command)
    }
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
      throw new UsageError('--metadata must be a JSON object', command)
    }
    options.metadata = metadata as Record<string, unknown>
  }
  if (typeof values['callback-url'] === 'string') options.callbackUrl = values['callback-url']
  if (typeof values.clip === 'string') options.clip = clipRange(values.clip, command)
  if (values['normalize-audio'] === true) options.normalizeAudio = true
  return options
}

/** `--clip 12.5-30`: seconds, start before end (the service checks the rest). */
function clipRange(text: string, command: CommandSpec): { start: number; end: number } {
  const range = /^\s*(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)\s*$/.exec(text)
  const start = Number(range?.[1])
  const end = Number(range?.[2])
  if (!range || !(end > start)) {
    throw new UsageError('--clip must be START-END in seconds, start before end: 12.5-30', command)
  }
  return { start, end }
}
