/**
 * Uploads: drop a file (or choose one) and it goes up resumably over tus, with a progress bar
 * and its rate; or import a URL. Both take the per-job `profiles` and `metadata`. Unfinished
 * uploads are remembered in localStorage (tus-js-client's), so the same file chosen again after
 * a reload resumes where it stopped.
 */
import { type JobOptions, RateMeter, type VppClient } from '@vpp/client'
import { madeByDefault, PROFILES, SOURCE_SIZE_NAMES } from '@vpp/shared/api/constants'
import { useRef, useState } from 'preact/hooks'
import { defaultOptions } from 'tus-js-client'
import { formatBytes } from './format.ts'
import { NO_WATERMARK, type WatermarkChoices, WatermarkFields, watermarkOf } from './watermark-fields.tsx'

interface Transfer {
  id: number
  name: string
  sent: number
  total: number
  rate: number
  jobId?: string
  error?: string
  done: boolean
}

export function UploadPanel({ client, profiles }: { client: VppClient; profiles: string[] }) {
  const [choices, setChoices] = useState<Choices>({ ...NO_CHOICES, chosen: byDefault(profiles) })
  const [problem, setProblem] = useState<string>()
  const [imported, setImported] = useState<string>()
  const { transfers, send } = useTransfers(client)

  /** The options, or undefined when they are wrong (and the problem says why). */
  const options = (): JobOptions | undefined => {
    const job = jobOptions(choices, profiles)
    setProblem(typeof job === 'string' ? job : undefined)
    return typeof job === 'string' ? undefined : job
  }
  const sendAll = (files: FileList | null | undefined) => {
    for (const file of Array.from(files ?? [])) {
      const job = options()
      if (job) send(file, job)
    }
  }
  const importUrl = async (event: Event) => {
    event.preventDefault()
    const form = event.target as HTMLFormElement
    const url = String(new FormData(form).get('url') ?? '')
    setImported(undefined)
    const job = options()
    if (!job) return
    try {
      const answer = await client.importUrl(url, job)
      setImported(answer.job_id)
      form.reset()
    } catch (error) {
      setProblem(error instanceof Error ? error.message : String(error))
    }
  }

  return (
    <section class="panel" aria-labelledby="upload-title">
      <h2 id="upload-title">Upload</h2>
      <DropZone onFiles={sendAll} />
      <form class="import" onSubmit={importUrl}>
        <label for="import-url">Or import from a URL</label>
        <div class="row">
          <input id="import-url" name="url" type="url" placeholder="https://example.com/video.mp4" required />
          <button type="submit">Import</button>
        </div>
      </form>
      <OptionFields client={client} profiles={profiles} choices={choices} setChoices={setChoices} />
      {problem && <p role="alert">{problem}</p>}
      {imported && (
        <p role="status">
          Import queued as job <a href={`#/jobs/${imported}`}>{imported}</a>
        </p>
      )}
      {transfers.length > 0 && <TransferList transfers={transfers} />}
    </section>
  )
}

/**
 * The profiles a job that names none gets: the table's default (`audio` only when asked) and the
 * source-size renditions, made when no rung is near the source's size.
 */
const DEFAULT_NAMES = new Set([
  ...madeByDefault(PROFILES).map((p) => p.name),
  ...Object.values(SOURCE_SIZE_NAMES),
])
const byDefault = (profiles: string[]) => profiles.filter((name) => DEFAULT_NAMES.has(name))
const sameSet = (a: string[], b: string[]) => a.length === b.length && a.every((name) => b.includes(name))

/** What the options' fields hold, as typed (the watermark's: watermark-fields.tsx). */
interface Choices extends WatermarkChoices {
  chosen: string[]
  metadata: string
  /** The clip's start and end in seconds, as typed; both empty: the whole video. */
  clipStart: string
  clipEnd: string
  normalizeAudio: boolean
}

const NO_CHOICES: Choices = {
  chosen: [],
  metadata: '',
  clipStart: '',
  clipEnd: '',
  normalizeAudio: false,
  ...NO_WATERMARK,
}

/** The job options of the form's fields, or a message saying what is wrong with them. */
function jobOptions(choices: Choices, profiles: string[]): JobOptions | string {
  const { metadata, chosen } = choices
  let meta: Record<string, unknown> | undefined
  if (metadata.trim()) {
    try {
      meta = JSON.parse(metadata)
    } catch {
      return 'Metadata must be JSON, such as {"title": "Holiday"}'
    }
    if (!meta || typeof meta !== 'object' || Array.isArray(meta)) return 'Metadata must be a JSON object'
  }
  if (chosen.length === 0) return 'Choose at least one profile'
  const clip = clipOf(choices)
  if (typeof clip === 'string') return clip
  return {
    profiles: sameSet(chosen, byDefault(profiles)) ? undefined : chosen,
    metadata: meta,
    clip,
    normalizeAudio: choices.normalizeAudio || undefined,
    watermark: watermarkOf(choices),
  }
}

/** The clip of the start and end fields (none when both are empty), or what is wrong with it. */
function clipOf({ clipStart, clipEnd }: Choices): JobOptions['clip'] | string {
  if (!clipStart.trim() && !clipEnd.trim()) return undefined
  const start = Number(clipStart.trim() || 0)
  const end = Number(clipEnd)
  if (!clipEnd.trim() || !Number.isFinite(start) || !Number.isFinite(end) || start < 0 || end <= start) {
    return 'A clip needs an end in seconds after its start (an empty start is 0)'
  }
  return { start, end }
}

/** The uploads of this page, newest first, and `send`, which starts one. */
function useTransfers(client: VppClient) {
  const [transfers, setTransfers] = useState<Transfer[]>([])
  const counter = useRef(0)
  const update = (id: number, change: Partial<Transfer>) =>
    setTransfers((list) => list.map((t) => (t.id === id ? { ...t, ...change } : t)))

  const send = (file: File, job: JobOptions) => {
    const id = ++counter.current
    const meter = new RateMeter()
    setTransfers((list) => [
      { id, name: file.name, sent: 0, total: file.size, rate: 0, done: false },
      ...list,
    ])
    client
      .upload(file, { ...job, urlStorage: defaultOptions.urlStorage }, (progress) => {
        meter.add(progress.sent)
        update(id, {
          sent: progress.sent,
          total: progress.total,
          rate: meter.perSecond(),
          jobId: progress.job_id,
        })
      })
      .then(
        (result) => update(id, { sent: result.size, total: result.size, jobId: result.job_id, done: true }),
        (error: unknown) => update(id, { error: error instanceof Error ? error.message : String(error) }),
      )
  }
  return { transfers, send }
}

/** Where files are dropped, or chosen; `onFiles` is given them. */
function DropZone({ onFiles }: { onFiles: (files: FileList | null | undefined) => void }) {
  const [dragging, setDragging] = useState(false)
  return (
    <label
      class={dragging ? 'drop dragging' : 'drop'}
      for="file-input"
      onDragOver={(event) => {
        event.preventDefault()
        setDragging(true)
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={(event) => {
        event.preventDefault()
        setDragging(false)
        onFiles(event.dataTransfer?.files)
      }}
    >
      <span>Drop videos here, or choose files</span>
      <input
        id="file-input"
        type="file"
        accept="video/*"
        multiple
        aria-label="Video files to upload"
        onChange={(event) => {
          const input = event.target as HTMLInputElement
          onFiles(input.files)
          input.value = ''
        }}
      />
    </label>
  )
}

/** The options every upload and import takes: profiles, metadata, a clip, loudness, a watermark. */
function OptionFields(props: {
  client: VppClient
  profiles: string[]
  choices: Choices
  setChoices: (update: (choices: Choices) => Choices) => void
}) {
  const { profiles, choices, setChoices } = props
  const { chosen } = choices
  const set = (patch: Partial<Choices>) => setChoices((now) => ({ ...now, ...patch }))
  const text = (event: Event) => (event.target as HTMLInputElement).value
  return (
    <details class="options">
      <summary>Options: profiles, metadata, clip, loudness, watermark</summary>
      <fieldset>
        <legend>Profiles</legend>
        {profiles.map((name) => (
          <label key={name} class="check">
            <input
              type="checkbox"
              checked={chosen.includes(name)}
              onChange={(event) => {
                const on = (event.target as HTMLInputElement).checked
                setChoices((now) => ({
                  ...now,
                  chosen: profiles.filter((p) => (p === name ? on : now.chosen.includes(p))),
                }))
              }}
            />
            {name}
          </label>
        ))}
      </fieldset>
      <label for="metadata">Metadata (a JSON object, returned with the job)</label>
      <textarea
        id="metadata"
        rows={2}
        placeholder='{"title": "Holiday"}'
        value={choices.metadata}
        onInput={(event) => set({ metadata: text(event) })}
      />
      <fieldset class="clip">
        <legend>Clip (seconds; empty: the whole video)</legend>
        <label>
          From{' '}
          <input
            name="clip-start"
            inputMode="decimal"
            placeholder="0"
            value={choices.clipStart}
            onInput={(event) => set({ clipStart: text(event) })}
          />
        </label>
        <label>
          To{' '}
          <input
            name="clip-end"
            inputMode="decimal"
            placeholder="30"
            value={choices.clipEnd}
            onInput={(event) => set({ clipEnd: text(event) })}
          />
        </label>
      </fieldset>
      <label class="check">
        <input
          type="checkbox"
          name="normalize-audio"
          checked={choices.normalizeAudio}
          onChange={(event) => set({ normalizeAudio: (event.target as HTMLInputElement).checked })}
        />
        Normalise loudness (-16 LUFS)
      </label>
      <WatermarkFields client={props.client} choices={choices} set={set} />
    </details>
  )
}

function TransferList({ transfers }: { transfers: Transfer[] }) {
  return (
    <ul class="transfers" aria-label="Uploads">
      {transfers.map((t) => {
        const percent = t.total ? Math.floor((t.sent / t.total) * 100) : 100
        return (
          <li key={t.id}>
            <span class="name">{t.name}</span>
            <progress max={100} value={percent} aria-label={`Upload of ${t.name}`} />
            <span class="figures">
              {percent}% · {formatBytes(t.sent)} / {formatBytes(t.total)}
              {!t.done && !t.error && ` · ${formatBytes(t.rate)}/s`}
            </span>
            {t.error && <span role="alert">Upload failed: {t.error}</span>}
            {t.done && t.jobId && (
              <span class="done">
                Queued as <a href={`#/jobs/${t.jobId}`}>{t.jobId}</a>
              </span>
            )}
          </li>
        )
      })}
    </ul>
  )
}
