import { diskFull } from '@vpp/shared'
import { ProcessError } from './ffmpeg-process.ts'
import { noSpaceIn } from './health.ts'
import { atCeiling, overMemoryLimit } from './retry-policy.ts'

/**
 * What an encoder's failure says in the job record: this machine's paths named (`input`,
 * `output`), a full disk as `disk_full`, the memory limit and the time ceiling as what they are.
 */
export function explainFailure(
  error: unknown,
  paths: Record<string, string>,
  scratch: string,
  timeoutMs: number,
): unknown {
  const scrubbed = scrubPaths(error, paths)
  // "No space left on device" somewhere in what ffmpeg said: the outputs met a full disk.
  if (scrubbed instanceof ProcessError && noSpaceIn(scrubbed.stderr))
    return diskFull(scratch, { cause: scrubbed })
  return atCeiling(overMemoryLimit(scrubbed), timeoutMs)
}

/** Error messages go into job records: say "input"/"output", not this machine's paths. */
function scrubPaths(error: unknown, paths: Record<string, string>): unknown {
  if (!(error instanceof Error)) return error
  for (const [path, name] of Object.entries(paths)) error.message = error.message.replaceAll(path, name)
  return error
}
