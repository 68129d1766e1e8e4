/**
 * One job: its status live (the job's event stream), the player once it has media (for a job
 * transcoded in chunks, from its `job.playable` on, while it is still processing), the
 * renditions with their figures and download links, the thumbnail, the error and attempts of
 * a failed job, its metadata; cancel and delete.
 */
import type { Job, Output, VppClient } from '@vpp/client'
import { useEffect, useRef, useState } from 'preact/hooks'
import { formatBitrate, formatBytes, formatDuration, formatTime, isLive } from './format.ts'
import { applyEvent } from './job-list.tsx'
import { Player } from './player.tsx'
import { sameFile } from './stream.ts'

export function JobPage(props: { client: VppClient; id: string; onError: (error: unknown) => void }) {
  const { client, id } = props
  const [job, setJob] = useState<Job>()
  const [problem, setProblem] = useState<string>()
  const [confirming, setConfirming] = useState(false)
  const [busy, setBusy] = useState(false)

  useEffect(() => {
    const controller = new AbortController()
    const follow = async () => {
      const first = await client.job(id)
      setJob(first)
      if (!isLive(first.status)) return
      for await (const event of client.events(id, { signal: controller.signal })) {
        if (event.type === 'job.deleted') {
          location.hash = '#/'
          return
        }
        setJob((current) => current && applyEvent(current, event))
        // The record, outputs and playback included, once it has them (or its error).
        if (!isLive(event.status)) setJob(await client.job(id))
      }
    }
    follow().catch((error: unknown) => {
      if (controller.signal.aborted) return
      props.onError(error)
      setProblem(error instanceof Error ? error.message : String(error))
    })
    return () => controller.abort()
  }, [client, id])

  const act = async (what: () => Promise<unknown>) => {
    setBusy(true)
    try {
      await what()
    } catch (error) {
      setProblem(error instanceof Error ? error.message : String(error))
    } finally {
      setBusy(false)
    }
  }

  // The stream the player was given, kept while later records name the same master under a fresh
  // signature: the record of a completed job, after its stream played while it was processing,
  // does not reload the player.
  const stream = useRef<string | null>(null)
  const hls = job?.playback?.hls ?? null
  if (!sameFile(stream.current, hls, id)) stream.current = hls

  if (!job) return problem ? <p role="alert">{problem}</p> : <p class="loading">Loading job…</p>
  const playback = job.playback
  const media = playback && (playback.hls || playback.mp4)
  const percent = job.status === 'completed' ? 100 : Math.floor(job.progress ?? 0)
  return (
    <article class="job-page" data-status={job.status}>
      <p>
        <a href="#/">← Jobs</a>
      </p>
      <h1>{job.filename}</h1>
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
      {problem && <p role="alert">{problem}</p>}
      {(job.status === 'failed' || job.status === 'retrying') && job.error && (
        <div class="error-box" role="alert">
          <strong>{job.status === 'failed' ? 'Failed' : 'Last attempt failed'}:</strong> {job.error}
          {job.error_code && <code> ({job.error_code})</code>}
          {job.next_attempt_at && <p>Next attempt at {formatTime(job.next_attempt_at)}</p>}
        </div>
      )}
      {media && playback && (
        <Player
          hls={stream.current}
          mp4={playback.mp4}
          poster={playback.thumbnail}
          storyboard={playback.storyboard}
        />
      )}
      <dl class="facts">
        <dt>Job id</dt>
        <dd>
          <code>{job.job_id}</code>
        </dd>
        <dt>Source</dt>
        <dd>{job.source_url ?? job.source}</dd>
        <dt>Attempts</dt>
        <dd>{job.attempts}</dd>
        <dt>Created</dt>
        <dd>{formatTime(job.created_at)}</dd>
        <dt>Updated</dt>
        <dd>{formatTime(job.updated_at)}</dd>
        {job.playable_at && (
          <>
            <dt>Playable</dt>
            <dd>{formatTime(job.playable_at)}</dd>
          </>
        )}
        {job.profiles && (
          <>
            <dt>Profiles</dt>
            <dd>{job.profiles.join(', ')}</dd>
          </>
        )}
      </dl>
      <div class="row actions">
        {isLive(job.status) && (
          <button
            type="button"
            disabled={busy}
            onClick={() => act(async () => setJob({ ...job, ...(await client.cancel(id)) }))}
          >
            Cancel job
          </button>
        )}
        {confirming ? (
          <fieldset class="confirm">
            <legend>Delete this job and its files?</legend>
            <button
              type="button"
              class="danger"
              disabled={busy}
              onClick={() =>
                act(async () => {
                  await client.delete(id)
                  location.hash = '#/'
                })
              }
            >
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
      {job.outputs.length > 0 && <Renditions outputs={job.outputs} />}
      {playback?.thumbnail && (
        <section>
          <h2>Thumbnail</h2>
          <img class="thumb" src={playback.thumbnail} alt={`Thumbnail of ${job.filename}`} />
        </section>
      )}
      {job.skipped && job.skipped.length > 0 && (
        <section>
          <h2>Not made</h2>
          <ul>
            {job.skipped.map((s) => (
              <li key={s.profile}>
                {s.profile}: {s.reason}
              </li>
            ))}
          </ul>
        </section>
      )}
      {job.metadata && (
        <section>
          <h2>Metadata</h2>
          <pre>{JSON.stringify(job.metadata, null, 2)}</pre>
        </section>
      )}
    </article>
  )
}

function Renditions({ outputs }: { outputs: Output[] }) {
  return (
    <section>
      <h2>Renditions</h2>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Profile</th>
              <th scope="col">Resolution</th>
              <th scope="col">Bitrate</th>
              <th scope="col" title="Similarity to the source on a sample of frames (1: identical)">
                SSIM
              </th>
              <th scope="col">Size</th>
              <th scope="col">Codec</th>
              <th scope="col">File</th>
            </tr>
          </thead>
          <tbody>
            {outputs.map((output) => (
              <tr key={output.profile}>
                <th scope="row">{output.profile}</th>
                <td>
                  {output.width}×{output.height}
                </td>
                <td>{formatBitrate(output.bitrate)}</td>
                <td>{output.ssim?.toFixed(4) ?? '—'}</td>
                <td>{formatBytes(output.size_bytes)}</td>
                <td>{output.codec}</td>
                <td>
                  {output.url ? (
                    <a href={output.url} download aria-label={`Download ${output.profile}`}>
                      Download
                    </a>
                  ) : (
                    '—'
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  )
}
