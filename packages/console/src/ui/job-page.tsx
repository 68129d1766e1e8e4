/**
 * One job: its status live (the job's event stream), the player once it has media (for a job
 * transcoded in chunks, from its `job.playable` on, while it is still processing), the
 * renditions with their figures and download links, the thumbnail, the error and attempts of
 * a failed job, its metadata; cancel and delete.
 */
import type { Job, VppClient } from '@vpp/client'
import { useEffect, useRef, useState } from 'preact/hooks'
import { CaptionTracks } from './caption-tracks.tsx'
import { formatDuration, formatTime, isLive } from './format.ts'
import { JobFacts, JobResults } from './job-details.tsx'
import { applyEvent } from './job-list.tsx'
import { OriginalDownload } from './original-download.tsx'
import { Player } from './player.tsx'
import { Renders } from './renders.tsx'
import { sameFile } from './stream.ts'

export function JobPage(props: { client: VppClient; id: string; onError: (error: unknown) => void }) {
  const { client, id } = props
  const [job, setJob] = useState<Job>()
  const [problem, setProblem] = useState<string>()
  useEffect(() => {
    const controller = new AbortController()
    followJob(client, id, controller.signal, setJob).catch((error: unknown) => {
      if (controller.signal.aborted) return
      props.onError(error)
      setProblem(messageOf(error))
    })
    return () => controller.abort()
  }, [client, id])
  const stream = useStream(job, id)

  if (!job) return problem ? <p role="alert">{problem}</p> : <p class="loading">Loading job…</p>
  const playback = job.playback
  return (
    <article class="job-page" data-status={job.status}>
      <p>
        <a href="#/">← Jobs</a>
      </p>
      <h1>{job.filename}</h1>
      <JobStatusLine job={job} />
      {problem && <p role="alert">{problem}</p>}
      <JobFailure job={job} />
      {playback && (playback.hls || playback.mp4) && (
        <Player
          key={captionsKey(job)}
          hls={stream && withCaptionsKey(stream, captionsKey(job))}
          mp4={playback.mp4}
          poster={playback.thumbnail}
          storyboard={playback.storyboard}
        />
      )}
      <JobFacts job={job} />
      <JobActions client={client} id={id} job={job} onCanceled={setJob} onProblem={setProblem} />
      {job.original === 'kept' && <OriginalDownload client={client} id={id} onProblem={setProblem} />}
      {job.status === 'completed' && playback?.hls && (
        <CaptionTracks client={client} job={job} onChange={setJob} />
      )}
      <JobResults job={job} />
      {job.status === 'completed' && <Renders client={client} job={job} />}
    </article>
  )
}

/**
 * Reads the job, then, while it is live, applies its events; reads its record again once it
 * ends (its outputs and playback included, or its error). A deleted job goes back to the list.
 */
async function followJob(
  client: VppClient,
  id: string,
  signal: AbortSignal,
  setJob: (update: Job | ((current: Job | undefined) => Job | undefined)) => void,
): Promise<void> {
  const first = await client.job(id)
  setJob(first)
  if (!isLive(first.status)) return
  for await (const event of client.events(id, { signal })) {
    if (event.type === 'job.deleted') {
      location.hash = '#/'
      return
    }
    setJob((current) => current && applyEvent(current, event))
    // The record, outputs and playback included, once it has them (or its error).
    if (!isLive(event.status)) setJob(await client.job(id))
  }
}

/**
 * The stream to give the player, kept while later records name the same master under a fresh
 * signature: the record of a completed job, after its stream played while it was processing,
 * does not reload the player.
 */
function useStream(job: Job | undefined, id: string): string | null {
  const stream = useRef<string | null>(null)
  const hls = job?.playback?.hls ?? null
  if (!sameFile(stream.current, hls, id)) stream.current = hls
  return stream.current
}

/** The player loads the master again when its caption tracks change. */
const captionsKey = (job: Job) => (job.captions ?? []).map((track) => track.caption_id).join(',')

/** The master's URL, told apart by its tracks: a master cached (max-age) before a change is not reused. */
function withCaptionsKey(url: string, key: string): string {
  if (!key) return url
  const shown = new URL(url, location.href)
  shown.searchParams.set('captions', key)
  return shown.href
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error))

/** The status badge; while the job is live, its progress and ETA. */
function JobStatusLine({ job }: { job: Job }) {
  const percent = job.status === 'completed' ? 100 : Math.floor(job.progress ?? 0)
  return (
    <p class="row">
      <span class={`badge ${job.status}`} role="status">
        {job.status}
      </span>
      {isLive(job.status) && (
        <>
          <progress max={100} value={percent} aria-label="Transcode progress" />
          <span class="figures">
            {percent}%{job.eta_seconds !== undefined && ` · ETA ${formatDuration(job.eta_seconds)}`}
          </span>
        </>
      )}
    </p>
  )
}

/** The error of a failed job, or of the last attempt of a retrying one, and the next attempt. */
function JobFailure({ job }: { job: Job }) {
  if ((job.status !== 'failed' && job.status !== 'retrying') || !job.error) return null
  return (
    <div class="error-box" role="alert">
      <strong>{job.status === 'failed' ? 'Failed' : 'Last attempt failed'}:</strong> {job.error}
      {job.error_code && <code> ({job.error_code})</code>}
      {job.next_attempt_at && <p>Next attempt at {formatTime(job.next_attempt_at)}</p>}
    </div>
  )
}

/** Cancel (while the job is live) and delete, which asks first. */
function JobActions(props: {
  client: VppClient
  id: string
  job: Job
  onCanceled: (job: Job) => void
  onProblem: (message: string) => void
}) {
  const { client, id, job } = props
  const [confirming, setConfirming] = useState(false)
  const [busy, setBusy] = useState(false)
  const act = async (what: () => Promise<unknown>) => {
    setBusy(true)
    try {
      await what()
    } catch (error) {
      props.onProblem(messageOf(error))
    } finally {
      setBusy(false)
    }
  }
  const cancel = () => act(async () => props.onCanceled({ ...job, ...(await client.cancel(id)) }))
  const remove = () =>
    act(async () => {
      await client.delete(id)
      location.hash = '#/'
    })
  return (
    <div class="row actions">
      {isLive(job.status) && (
        <button type="button" disabled={busy} onClick={cancel}>
          Cancel job
        </button>
      )}
      {confirming ? (
        <fieldset class="confirm">
          <legend>Delete this job and its files?</legend>
          <button type="button" class="danger" disabled={busy} onClick={remove}>
            Yes, delete
          </button>{' '}
          <button type="button" onClick={() => setConfirming(false)}>
            Keep it
          </button>
        </fieldset>
      ) : (
        <button type="button" class="danger" onClick={() => setConfirming(true)}>
          Delete job
        </button>
      )}
    </div>
  )
}
