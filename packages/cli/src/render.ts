import { writeFile } from 'node:fs/promises'
import type { VppClient } from '@vpp/client'
import { type Output, print } from './output.ts'
import { type CommandSpec, intOption, UsageError } from './usage.ts'

type Values = Record<string, string | boolean | undefined>

/** A number of seconds from `--name`, or undefined; a UsageError when it is not one. */
function secondsOption(values: Values, name: string, command: CommandSpec): number | undefined {
  const value = values[name]
  if (value === undefined) return undefined
  const n = Number(value)
  if (typeof value !== 'string' || !/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(n)) {
    throw new UsageError(`--${name} must be a number of seconds, such as 12.5`, command)
  }
  return n
}

/**
 * `vpp thumbnail JOB_ID` (a frame at `--time`, `--width` wide: a JPEG) and `vpp preview JOB_ID`
 * (an animated WebP of `--start` to `--end` at `--fps`), rendered on demand by the status
 * service and written to `--output` (default `{job_id}.jpg` / `{job_id}.webp`).
 */
export async function render(
  client: VppClient,
  command: CommandSpec,
  id: string,
  values: Values,
  out: Output,
  signal: AbortSignal,
): Promise<number> {
  const job = await client.job(id)
  const thumbnail = command.name === 'thumbnail'
  const url = thumbnail
    ? client.thumbnailUrl(job, {
        time: secondsOption(values, 'time', command),
        width: intOption(values, 'width', 16, 1920, command),
      })
    : client.animatedUrl(job, {
        start: secondsOption(values, 'start', command),
        end: secondsOption(values, 'end', command),
        fps: intOption(values, 'fps', 1, 30, command),
        width: intOption(values, 'width', 16, 640, command),
      })
  const bytes = await client.media(url, signal)
  const file = typeof values.output === 'string' ? values.output : `${id}.${thumbnail ? 'jpg' : 'webp'}`
  await writeFile(file, bytes)
  print(
    out,
    { job_id: id, file, size_bytes: bytes.byteLength, url },
    () => `${file}: ${bytes.byteLength} bytes`,
  )
  return 0
}
