import { type DlqEntry, formatResolution, type Job, type Stats } from '@vpp/client'
import { formatBytes, formatDuration } from './progress.ts'

/** A header and rows in columns. */
export function table(header: string[], rows: string[][]): string {
  return columns([header, ...rows])
}

/** Rows in columns padded to their widest cell, two spaces apart; the last one left ragged. */
export function columns(rows: string[][]): string {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)))
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}

/** `2026-11-25 20:54:27` (UTC, as the API's times are). */
export function formatTime(iso: string | undefined): string {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '') : '-'
}

function progressOf(job: Job): string {
  if (job.status === 'completed') return '100%'
  if (job.progress === undefined) return '-'
  return `${Math.floor(job.progress)}%`
}

/** `vpp jobs`: one line a job, newest first. */
export function jobsTable(jobs: Job[]): string {
  return table(
    ['JOB ID', 'STATUS', 'PROGRESS', 'CREATED', 'FILENAME'],
    jobs.map((job) => [job.job_id, job.status, progressOf(job), formatTime(job.created_at), job.filename]),
  )
}

/** What a player needs and what was made: the end of `vpp upload --wait` and part of `vpp job`. */
export function mediaText(job: Job): string {
  const parts: string[] = []
  const playback = Object.entries(job.playback ?? {}).filter((entry): entry is [string, string] =>
    Boolean(entry[1]),
  )
  if (playback.length > 0) {
    parts.push(`playback\n${indent(columns(playback))}`)
  }
  if (job.outputs.length > 0) {
    const rows = job.outputs.map((output) => [
      output.profile,
      formatResolution(output),
      output.duration === null ? '-' : `${output.duration.toFixed(1)}s`,
      formatBytes(output.size_bytes),
      output.codec,
      output.url ?? output.path,
    ])
    parts.push(
      `outputs\n${indent(table(['PROFILE', 'RESOLUTION', 'DURATION', 'SIZE', 'CODEC', 'URL'], rows))}`,
    )
  }
  if (job.skipped?.length) {
    parts.push(`skipped\n${indent(columns(job.skipped.map((s) => [s.profile, s.reason])))}`)
  }
  return parts.join('\n')
}

/** `vpp job ID`. */
export function jobText(job: Job): string {
  const fields: Array<[string, string | undefined]> = [
    ['job_id', job.job_id],
    ['filename', job.filename],
    ['status', job.status],
    ['source', job.source_url ? `${job.source} ${job.source_url}` : job.source],
    ['profiles', job.profiles?.join(', ')],
    ['created', formatTime(job.created_at)],
    ['updated', formatTime(job.updated_at)],
    ['attempts', String(job.attempts)],
    [
      'progress',
      job.status === 'processing' && job.progress !== undefined
        ? `${Math.floor(job.progress)}%${job.eta_seconds === undefined ? '' : ` (ETA ${formatDuration(job.eta_seconds)})`}`
        : undefined,
    ],
    ['playable', job.playable_at && formatTime(job.playable_at)],
    ['error', job.error && (job.error_code ? `${job.error} (${job.error_code})` : job.error)],
    ['next try', job.next_attempt_at && formatTime(job.next_attempt_at)],
    ['expired', job.expired_at && formatTime(job.expired_at)],
    ['metadata', job.metadata && JSON.stringify(job.metadata)],
    ['callback', job.callback_url],
  ]
  const head = columns(fields.filter((field): field is [string, string] => Boolean(field[1])))
  const media = mediaText(job)
  return media ? `${head}\n${media}` : head
}

/** `vpp dlq`. */
export function dlqTable(entries: DlqEntry[]): string {
  return table(
    ['MESSAGE ID', 'JOB ID', 'ATTEMPTS', 'FAILED', 'ERROR'],
    entries.map((entry) => [
      entry.message_id,
      entry.job_id,
      String(entry.attempts),
      formatTime(entry.failed_at),
      entry.error,
    ]),
  )
}

/** `vpp stats`. */
export function statsText(stats: Stats): string {
  const rows: string[][] = [
    ['queue depth', String(stats.queue_depth)],
    ['dead letters', String(stats.dlq_depth)],
    ['jobs', String(stats.total_jobs)],
    ...Object.entries(stats.jobs_by_status).map(([status, count]) => [`  ${status}`, String(count)]),
    ['finished / min', String(stats.processing_rate_per_minute)],
  ]
  return columns(rows)
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n')
}
