/**
 * The job list, newest first, kept live by the event feed (`GET /events`): each event updates
 * its job's status, progress and ETA in place; a job not listed yet is read and added; a deleted
 * one goes. A filter by status.
 */
import type { Job, JobStatus, JobStreamEvent, VppClient } from '@vpp/client'
import { useEffect, useRef, useState } from 'preact/hooks'
import { formatDuration, formatTime } from './format.ts'

const PAGE = 50

/** A job as the list and its page show it, after an event about it. */
export function applyEvent(job: Job, event: JobStreamEvent): Job {
  if (event.type === 'job.deleted') return job
  const next: Job = { ...job, status: event.status as JobStatus, updated_at: event.at }
  if (event.progress !== undefined) next.progress = event.progress
  if (event.eta_seconds !== undefined) next.eta_seconds = event.eta_seconds
  if (event.status !== 'processing') delete next.eta_seconds
  if (event.status === 'completed') next.progress = 100
  if (event.error !== undefined) next.error = event.error
  // A job transcoded in chunks: its stream plays from here on, while it is still processing.
  if (event.type === 'job.playable') {
    next.playable_at = event.at
    if (event.playback) next.playback = event.playback
  }
  return next
}

export function JobList(props: {
  client: VppClient
  /** The statuses to filter by (the server's, from console/config.json). */
  statuses: JobStatus[]
  onError: (error: unknown) => void
}) {
  const [filter, setFilter] = useState<JobStatus | ''>('')
  const { jobs, problem, live } = useLiveJobs(props.client, filter, props.onError)
  const shown = filter ? jobs.filter((job) => job.status === filter) : jobs
  return (
    <section class="panel" aria-labelledby="jobs-title">
      <div class="row spread">
        <h2 id="jobs-title">
          Jobs <span class={live ? 'live on' : 'live'}>{live ? 'live' : 'not live'}</span>
        </h2>
        <StatusFilter statuses={props.statuses} filter={filter} onChange={setFilter} />
      </div>
      {problem && <p role="alert">{problem}</p>}
      {shown.length === 0 ? (
        <p class="empty">No jobs{filter ? ` ${filter}` : ''} yet.</p>
      ) : (
        <ul class="jobs" aria-label="Jobs">
          {shown.map((job) => (
            <JobRow key={job.job_id} job={job} />
          ))}
        </ul>
      )}
    </section>
  )
}

/**
 * The jobs: the filter's first page, kept live by the event feed; whether the feed is running,
 * and why the page could not be read.
 */
function useLiveJobs(client: VppClient, filter: JobStatus | '', onError: (error: unknown) => void) {
  const [jobs, setJobs] = useState<Job[]>([])
  const [problem, setProblem] = useState<string>()
  const [live, setLive] = useState(false)
  // What was last rendered, for the feed's loop (a state update is applied later).
  const shownRef = useRef(jobs)
  shownRef.current = jobs

  // The page of the filter; events that came meanwhile stay (theirs are newer).
  useEffect(() => {
    let stopped = false
    client.jobs({ status: filter || undefined, limit: PAGE }).then(
      (page) => {
        if (!stopped) setJobs((seen) => withPage(seen, page.jobs))
      },
      (error: unknown) => {
        onError(error)
        setProblem(String(error))
      },
    )
    return () => {
      stopped = true
    }
  }, [client, filter])

  useEffect(() => {
    const controller = new AbortController()
    setLive(true)
    followFeed(client, controller.signal, setJobs, () => shownRef.current).catch((error: unknown) => {
      if (controller.signal.aborted) return
      setLive(false)
      onError(error)
    })
    return () => controller.abort()
  }, [client])

  return { jobs, problem, live }
}

/** The jobs seen so far with a page read from the server, where a job's newer record wins. */
function withPage(seen: Job[], page: Job[]): Job[] {
  const fresh = new Map(seen.map((job) => [job.job_id, job]))
  const listed = page.map((job) => {
    const newer = fresh.get(job.job_id)
    return newer && newer.updated_at > job.updated_at ? newer : job
  })
  const ids = new Set(listed.map((job) => job.job_id))
  return [...seen.filter((job) => !ids.has(job.job_id)), ...listed].sort(newestFirst)
}

/**
 * Applies each event of the feed to the list: its job updated in place, a job not listed yet
 * read and added, a deleted one removed. Runs until the signal aborts or the feed fails.
 */
async function followFeed(
  client: VppClient,
  signal: AbortSignal,
  setJobs: (update: (list: Job[]) => Job[]) => void,
  shown: () => Job[],
): Promise<void> {
  for await (const event of client.feed({ signal })) {
    if (event.type === 'job.deleted') {
      setJobs((list) => list.filter((job) => job.job_id !== event.job_id))
      continue
    }
    setJobs((list) => list.map((job) => (job.job_id === event.job_id ? applyEvent(job, event) : job)))
    if (!shown().some((job) => job.job_id === event.job_id)) {
      const job = await client.job(event.job_id).catch(() => undefined)
      if (job)
        setJobs((list) =>
          list.some((j) => j.job_id === job.job_id) ? list : [job, ...list].sort(newestFirst),
        )
    }
  }
}

function StatusFilter(props: {
  statuses: JobStatus[]
  filter: JobStatus | ''
  onChange: (filter: JobStatus | '') => void
}) {
  return (
    <label class="inline">
      Status{' '}
      <select
        aria-label="Filter by status"
        value={props.filter}
        onChange={(event) => props.onChange((event.target as HTMLSelectElement).value as JobStatus | '')}
      >
        <option value="">All</option>
        {props.statuses.map((status) => (
          <option key={status} value={status}>
            {status}
          </option>
        ))}
      </select>
    </label>
  )
}

function JobRow({ job }: { job: Job }) {
  const percent = job.status === 'completed' ? 100 : Math.floor(job.progress ?? 0)
  return (
    <li class="job" data-job-id={job.job_id} data-status={job.status}>
      <a href={`#/jobs/${job.job_id}`} class="name">
        {job.filename}
      </a>
      <span class={`badge ${job.status}`}>{job.status}</span>
      <progress max={100} value={percent} aria-label={`Progress of ${job.filename}`} />
      <span class="figures">
        {percent}%
        {job.status === 'processing' &&
          job.eta_seconds !== undefined &&
          ` · ETA ${formatDuration(job.eta_seconds)}`}
      </span>
      <time dateTime={job.created_at}>{formatTime(job.created_at)}</time>
    </li>
  )
}

const newestFirst = (a: Job, b: Job) =>
  a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0
