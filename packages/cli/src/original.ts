import { createWriteStream } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { VppClient } from '@vpp/client'
import { type Output, print, say } from './output.ts'
import { formatBytes } from './progress.ts'
import { CliError } from './usage.ts'

/**
 * `vpp original JOB_ID`: the short-lived URL of the job's upload (kept with KEEP_ORIGINALS), on
 * stdout; with `-o FILE`, the upload itself saved as FILE (written beside it, renamed when whole).
 */
export async function original(
  client: VppClient,
  id: string,
  file: string | undefined,
  out: Output,
  signal: AbortSignal,
): Promise<number> {
  const link = await client.original(id)
  if (file === undefined) {
    print(out, link, () => link.url)
    return 0
  }
  const res = await fetch(link.url, { signal })
  if (!res.ok || !res.body) throw new CliError(`downloading the original answered ${res.status}`)
  const partial = `${file}.part`
  try {
    await pipeline(
      Readable.fromWeb(res.body as Parameters<typeof Readable.fromWeb>[0]),
      createWriteStream(partial),
      {
        signal,
      },
    )
    await rename(partial, file)
  } catch (error) {
    await rm(partial, { force: true })
    throw error
  }
  say(out, `saved ${link.filename} (${formatBytes(link.size_bytes)}) as ${file}`)
  print(out, { ...link, saved_as: file }, () => file)
  return 0
}
