/**
 * The upload options' watermark: a PNG picked here is stored for the key (`POST /watermarks`)
 * and named by its id; or the key's default; placed at a corner or the centre.
 */
import type { JobOptions, VppClient } from '@vpp/client'
import { useState } from 'preact/hooks'

const POSITIONS = ['top-left', 'top-right', 'bottom-left', 'bottom-right', 'center'] as const
type Position = (typeof POSITIONS)[number]

/** The watermark's fields of the upload options, as chosen. */
export interface WatermarkChoices {
  /** `''`: none; `default`: the key's default; else a stored image's id (`wm_…`). */
  watermarkImage: string
  watermarkPosition: Position
}

export const NO_WATERMARK: WatermarkChoices = { watermarkImage: '', watermarkPosition: 'bottom-right' }

/** The job's `watermark` option of these fields (none when none is chosen). */
export function watermarkOf(choices: WatermarkChoices): JobOptions['watermark'] {
  const { watermarkImage: image, watermarkPosition: position } = choices
  if (!image) return undefined
  return image === 'default' ? { position } : { image, position }
}

export function WatermarkFields(props: {
  client: VppClient
  choices: WatermarkChoices
  set: (patch: Partial<WatermarkChoices>) => void
}) {
  const { client, choices, set } = props
  const [stored, setStored] = useState<string[]>([])
  const [note, setNote] = useState<string>()
  const pick = async (event: Event) => {
    const input = event.target as HTMLInputElement
    const file = input.files?.[0]
    if (!file) return
    setNote(`Storing ${file.name}…`)
    try {
      const made = await client.addWatermark(file)
      setStored((now) => [...now, made.watermark_id])
      set({ watermarkImage: made.watermark_id })
      setNote(`${file.name}: stored as ${made.watermark_id} (${made.width}x${made.height})`)
    } catch (error) {
      setNote(`${file.name}: ${error instanceof Error ? error.message : String(error)}`)
    }
    input.value = ''
  }
  return (
    <fieldset class="watermark">
      <legend>Watermark</legend>
      <label>
        Image{' '}
        <select
          aria-label="Watermark image"
          name="watermark-image"
          value={choices.watermarkImage}
          onChange={(event) => set({ watermarkImage: (event.target as HTMLSelectElement).value })}
        >
          <option value="">None</option>
          <option value="default">Your default</option>
          {stored.map((id) => (
            <option key={id} value={id}>
              {id}
            </option>
          ))}
        </select>
      </label>
      <label>
        Position{' '}
        <select
          aria-label="Watermark position"
          name="watermark-position"
          value={choices.watermarkPosition}
          onChange={(event) =>
            set({ watermarkPosition: (event.target as HTMLSelectElement).value as Position })
          }
        >
          {POSITIONS.map((position) => (
            <option key={position} value={position}>
              {position}
            </option>
          ))}
        </select>
      </label>
      <label>
        New image (PNG){' '}
        <input
          type="file"
          name="watermark-file"
          aria-label="New watermark image (PNG)"
          accept="image/png"
          onChange={pick}
        />
      </label>
      {note && <p role="status">{note}</p>}
    </fieldset>
  )
}
