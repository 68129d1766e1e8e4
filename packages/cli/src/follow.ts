import type { Job, JobStreamEvent, VppClient } from '@vpp/client'
import { mediaText } from './format.ts'
import { type Output, print } from './output.ts'
import { formatElapsed, ProgressReporter, transcodeLine } from './progress.ts'
import { CliError } from './usage.ts'

/**
 * Follow a job over its event stream to its final event (`vpp upload --wait`, `vpp wait`):
 * status changes as lines on stderr (for a job transcoded in chunks, `playable:` and the HLS
 * master's URL as soon as its stream plays), the transcode as a progress bar with its ETA; then
 * the playback URLs and outputs on stdout (the job record with --json). 0 when it completed, 1
 * when it failed, was canceled or was deleted.
 */
export async function follow(
  client: VppClient,
  jobId: string,
  out: Output,
  signal: AbortSignal,
): Promise<number> {
  const reporter = new ProgressReporter(out.stderr)
  const started = performance.now()
  let final: JobStreamEvent | undefined
  let job: Job | undefined
  try {
    for (let after: string | undefined; ; ) {
      final = await untilFinal(client, jobId, after, reporter, signal)
      job = await client.job(jobId).catch(() => undefined)
      // A job's stream replays its history and ends at the first final event in it: a job that
      // failed, then was queued again from the dead-letter queue, goes on after that one.
      if (final?.type !== 'job.failed' || !job || job.status === 'failed') break
      reporter.note(`failed: ${final.error ?? 'unknown error'}; then queued again from the dead-letter queue`)
      after = final.id
    }
  } catch (error) {
    reporter.end()
    if (signal.aborted) {
      throw new CliError(`interrupted: the job goes on; follow it with vpp wait ${jobId}`, 130)
    }
    throw error
  }
  if (!final) return 1 // the stream ends only after a final event; this is for the type checker
  const elapsed = formatElapsed((performance.now() - started) / 1000)
  if (final.type === 'job.completed') {
    const shown: Job =
      job ?? ({ job_id: jobId, outputs: final.outputs ?? [], playback: final.playback } as Job)
    reporter.note(`job ${jobId} completed (${elapsed})`)
    print(out, shown, () => mediaText(shown))
    return 0
  }
  if (final.type === 'job.failed') {
    // The record's error: the last failure's, where the event may be an earlier one.
    const error = job?.error ?? final.error ?? 'unknown error'
    const code = (job?.error_code ?? final.error_code) ? ` (${job?.error_code ?? final.error_code})` : ''
    reporter.note(`job ${jobId} failed: ${error}${code}`)
  } else {
    reporter.note(`job ${jobId} was ${final.status}`)
  }
  if (out.json) print(out, job ?? final, () => '')
  return 1
}

/** The job's events after `after` (from its first without) shown as they come; its final one. */
async function untilFinal(
  client: VppClient,
  jobId: string,
  after: string | undefined,
  reporter: ProgressReporter,
  signal: AbortSignal,
): Promise<JobStreamEvent | undefined> {
  const events = client.events(jobId, {
    signal,
    ...(after ? { lastEventId: after } : {}),
    onReconnect: (attempt) => reporter.note(`connection to status lost; reconnecting (${attempt})`),
  })
  let final: JobStreamEvent | undefined
  for await (const event of events) {
    switch (event.type) {
      case 'job.progress':
        reporter.update((event.progress ?? 0) / 100, transcodeLine(event.progress ?? 0, event.eta_seconds))
        break
      case 'job.retrying':
        reporter.end()
        reporter.note(
          `attempt failed: ${event.error ?? 'unknown error'}; trying again${event.next_attempt_at ? ` at ${event.next_attempt_at}` : ''}`,
        )
        break
      case 'job.playable':
        // A job transcoded in chunks: its stream plays from here on, and grows until completed.
        reporter.end()
        reporter.note(event.playback?.hls ? `playable: ${event.playback.hls}` : 'playable')
        break
      case 'job.completed':
        reporter.update(1, transcodeLine(100))
        reporter.end()
        final = event
        break
      case 'job.queued':
      case 'job.processing':
        reporter.end()
        reporter.note(event.type.slice(4))
        break
      default:
        reporter.end()
        final = event
    }
  }
  return final
}
