/**
 * A completed job's caption tracks: the list (each with its WebVTT file and a delete button) and
 * a form that adds one (a WebVTT or SRT file, its language and label). Each change gives the
 * job's record again, so the page (and the player, which reloads the master) shows it.
 */
import type { Job, VppClient } from '@vpp/client'
import { useState } from 'preact/hooks'

export function CaptionTracks(props: { client: VppClient; job: Job; onChange: (job: Job) => void }) {
  const { client, job } = props
  const [busy, setBusy] = useState(false)
  const [problem, setProblem] = useState<string>()
  const act = async (what: () => Promise<unknown>) => {
    setBusy(true)
    setProblem(undefined)
    try {
      await what()
      props.onChange(await client.job(job.job_id))
    } catch (error) {
      setProblem(error instanceof Error ? error.message : String(error))
    } finally {
      setBusy(false)
    }
  }
  const add = (event: Event) => {
    event.preventDefault()
    const form = event.currentTarget as HTMLFormElement
    const data = new FormData(form)
    const file = data.get('file')
    if (!(file instanceof File) || file.size === 0) return setProblem('Choose a WebVTT or SRT file')
    const track = { language: String(data.get('language') ?? ''), label: String(data.get('label') ?? '') }
    return act(async () => {
      await client.addCaptions(job.job_id, file, track)
      form.reset()
    })
  }
  const tracks = job.captions ?? []
  return (
    <section class="captions">
      <h2>Captions</h2>
      {tracks.length > 0 ? (
        <ul>
          {tracks.map((track) => (
            <li key={track.caption_id} data-caption={track.caption_id}>
              {track.label} <code>{track.language}</code>{' '}
              {track.url && (
                <a href={track.url} download aria-label={`Download ${track.label} captions`}>
                  WebVTT
                </a>
              )}{' '}
              <button
                type="button"
                class="danger"
                disabled={busy}
                aria-label={`Delete ${track.label} captions`}
                onClick={() => act(() => client.deleteCaptions(job.job_id, track.caption_id))}
              >
                Delete
              </button>
            </li>
          ))}
        </ul>
      ) : (
        <p>No caption tracks.</p>
      )}
      <form class="row" onSubmit={add} aria-label="Add a caption track">
        <input type="file" name="file" accept=".vtt,.srt,text/vtt" aria-label="Caption file" required />
        <input name="language" placeholder="en" aria-label="Language" required size={6} />
        <input name="label" placeholder="English" aria-label="Label" required maxLength={64} />
        <button type="submit" disabled={busy}>
          Add captions
        </button>
      </form>
      {problem && <p role="alert">{problem}</p>}
    </section>
  )
}
