/**
 * A completed job's on-demand renders: a frame at a chosen time and width (JPEG), or an
 * animated WebP preview of a range, made by the status service (`/media/{id}/thumbnail.jpg?…`,
 * `/media/{id}/animated.webp?…`) and shown here, or its error message (a time past the end, a
 * limit reached).
 */
import type { Job, VppClient } from '@vpp/client'
import { useEffect, useState } from 'preact/hooks'

const number = (form: FormData, name: string) => {
  const text = String(form.get(name) ?? '').trim()
  return text === '' ? undefined : Number(text)
}

export function Renders({ client, job }: { client: VppClient; job: Job }) {
  const [image, setImage] = useState<{ src: string; alt: string }>()
  const [problem, setProblem] = useState<string>()
  const [busy, setBusy] = useState(false)
  // The object URL of the last image goes when another replaces it, or with the page.
  useEffect(() => () => image && URL.revokeObjectURL(image.src), [image])

  const render = async (event: Event) => {
    event.preventDefault()
    const form = new FormData(event.currentTarget as HTMLFormElement)
    const animated = form.get('kind') === 'animated'
    const time = number(form, 'time')
    const width = number(form, 'width')
    const url = animated
      ? client.animatedUrl(job, { start: time, end: number(form, 'end'), width })
      : client.thumbnailUrl(job, { time: time ?? 0, width })
    setBusy(true)
    setProblem(undefined)
    try {
      const bytes = await client.media(url)
      const type = animated ? 'image/webp' : 'image/jpeg'
      const src = URL.createObjectURL(new Blob([bytes as BlobPart], { type }))
      setImage({
        src,
        alt: animated ? `Preview of ${job.filename}` : `Frame of ${job.filename} at ${time ?? 0} s`,
      })
    } catch (error) {
      setImage(undefined)
      setProblem(error instanceof Error ? error.message : String(error))
    } finally {
      setBusy(false)
    }
  }

  return (
    <section class="renders">
      <h2>Frames and previews</h2>
      <form onSubmit={render}>
        <label>
          <input type="radio" name="kind" value="frame" checked /> Frame
        </label>
        <label>
          <input type="radio" name="kind" value="animated" /> Animated preview
        </label>
        <label>
          At (s) <input name="time" type="number" min="0" step="0.001" placeholder="0" />
        </label>
        <label>
          Until (s, preview) <input name="end" type="number" min="0" step="0.001" placeholder="start + 5" />
        </label>
        <label>
          Width <input name="width" type="number" min="16" step="2" placeholder="default" />
        </label>
        <button type="submit" disabled={busy}>
          {busy ? 'Rendering…' : 'Render'}
        </button>
      </form>
      {problem && <p role="alert">{problem}</p>}
      {image && <img class="thumb" src={image.src} alt={image.alt} />}
    </section>
  )
}
