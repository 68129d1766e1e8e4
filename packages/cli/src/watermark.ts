import { readFile } from 'node:fs/promises'
import type { JobOptions, VppClient } from '@vpp/client'
import { formatTime, table } from './format.ts'
import { type Output, print, say } from './output.ts'
import { formatBytes } from './progress.ts'
import { CliError, type CommandSpec, UsageError } from './usage.ts'

/** A stored image's id, as `vpp watermark add` prints it. */
const WATERMARK_ID = /^wm_[A-Za-z0-9]{8,40}$/
const POSITIONS = ['top-left', 'top-right', 'bottom-left', 'bottom-right', 'center'] as const
type Values = Record<string, string | boolean | undefined>

/** A PNG file's bytes, or a CliError saying why not. */
async function png(path: string): Promise<Uint8Array> {
  return new Uint8Array(
    await readFile(path).catch((error: NodeJS.ErrnoException) => {
      throw new CliError(
        error.code === 'ENOENT' ? `no such file: ${path}` : `cannot read ${path}: ${error.message}`,
      )
    }),
  )
}

/** `vpp watermark add FILE [--default]`: the PNG stored for the key; prints its id. */
export async function addWatermark(client: VppClient, path: string, values: Values, out: Output) {
  const made = await client.addWatermark(await png(path), { default: values.default === true })
  print(out, made, () => made.watermark_id)
  return 0
}

/** `vpp watermark list`: the key's stored images, newest first (JSON with --json). */
export async function listWatermarks(client: VppClient, out: Output) {
  const list = await client.listWatermarks()
  print(out, list, () =>
    list.watermarks.length
      ? table(
          ['ID', 'PIXELS', 'SIZE', 'CREATED', 'DEFAULT'],
          list.watermarks.map((w) => [
            w.watermark_id,
            `${w.width}x${w.height}`,
            formatBytes(w.size_bytes),
            formatTime(w.created_at),
            w.default ? 'yes' : '',
          ]),
        )
      : 'no watermark images',
  )
  return 0
}

/** The job's `watermark` option, and the id of the image stored for this one job (a PNG path given). */
export interface WatermarkChoice {
  option: Pick<JobOptions, 'watermark'>
  stored?: string
}

/**
 * `--watermark-image` (a stored image's id, or a PNG file, stored first), `--watermark-position`,
 * `--watermark-width` and `--watermark-margin` as the job's `watermark`; any one of them asks for
 * one (without an image: the key's default). An image stored from a file is `stored`: the job
 * has its own copy once created, so the caller deletes it then (dropStoredWatermark).
 */
export async function watermarkOption(
  client: VppClient,
  values: Values,
  command: CommandSpec,
): Promise<WatermarkChoice> {
  const image = values['watermark-image']
  const position = values['watermark-position']
  const width = fraction(values, 'watermark-width', command)
  const margin = fraction(values, 'watermark-margin', command)
  if (image === undefined && position === undefined && width === undefined && margin === undefined) {
    return { option: {} }
  }
  if (position !== undefined && !POSITIONS.includes(position as never)) {
    throw new UsageError(`--watermark-position must be one of ${POSITIONS.join(', ')}`, command)
  }
  const watermark: NonNullable<JobOptions['watermark']> = {}
  let stored: string | undefined
  if (typeof image === 'string') {
    if (!WATERMARK_ID.test(image)) stored = (await client.addWatermark(await png(image))).watermark_id
    watermark.image = stored ?? image
  }
  if (position !== undefined) watermark.position = position as (typeof POSITIONS)[number]
  if (width !== undefined) watermark.width = width
  if (margin !== undefined) watermark.margin = margin
  return stored ? { option: { watermark }, stored } : { option: { watermark } }
}

/** Delete the image watermarkOption stored for one upload (its job has a copy, or there is no job). */
export async function dropStoredWatermark(client: VppClient, stored: string | undefined, out: Output) {
  if (!stored) return
  await client.deleteWatermark(stored).catch((error: Error) => {
    say(out, `could not delete watermark image ${stored} (${error.message}): vpp watermark delete ${stored}`)
  })
}

function fraction(values: Values, name: string, command: CommandSpec): number | undefined {
  if (values[name] === undefined) return undefined
  const n = Number(values[name])
  if (!Number.isFinite(n) || n < 0 || n > 1)
    throw new UsageError(`--${name} must be a fraction such as 0.15`, command)
  return n
}
