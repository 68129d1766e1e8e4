/**
 * The read-only parts of a job's page: its facts, its renditions with their figures and
 * download links, the thumbnail, the profiles not made and the metadata.
 */
import type { Job, Output } from '@vpp/client'
import { formatBitrate, formatBytes, formatResolution, formatTime } from './format.ts'

/** Its id, source, attempts and times, and what was asked: profiles, clip, watermark, loudness. */
export function JobFacts({ job }: { job: Job }) {
  return (
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
      {job.clip && (
        <>
          <dt>Clip</dt>
          <dd>
            {job.clip.start} s to {job.clip.end} s
          </dd>
        </>
      )}
      {job.watermark && (
        <>
          <dt>Watermark</dt>
          <dd>
            {job.watermark.position}, {Math.round(job.watermark.width * 100)} % wide
          </dd>
        </>
      )}
      {job.normalize_audio && (
        <>
          <dt>Loudness</dt>
          <dd>normalised to -16 LUFS</dd>
        </>
      )}
    </dl>
  )
}

/** What the job made: its renditions, thumbnail and skipped profiles; then its metadata. */
export function JobResults({ job }: { job: Job }) {
  const thumbnail = job.playback?.thumbnail
  return (
    <>
      {job.outputs.length > 0 && <Renditions outputs={job.outputs} />}
      {thumbnail && (
        <section>
          <h2>Thumbnail</h2>
          <img class="thumb" src={thumbnail} alt={`Thumbnail of ${job.filename}`} />
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
    </>
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
                <td>{formatResolution(output, '×')}</td>
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
