/**
 * A job's watermark PNG on this machine: its own copy (made by ingest when the job was created),
 * fetched into the work directory when storage is remote, and decoded once before the encode,
 * so an image ffmpeg cannot read fails the job at once, as what it is.
 */
import { type Job, jobAssetName, type MediaStorage, PermanentJobError } from '@vpp/shared'
import type { TranscoderConfig } from './config.ts'
import { COMMON, type WatermarkRun, watermarkInputArgs } from './ffmpeg-args/index.ts'
import { lastLine, ProcessError, runProcess } from './ffmpeg-process.ts'

/** Pure: decode the PNG whole and write nothing (`-f null`): it fails as ffmpeg would in the encode. */
export function decodeCheckArgs(path: string): string[] {
  return [...COMMON, ...watermarkInputArgs(path), '-map', '0:v:0', '-frames:v', '1', '-f', 'null', '-']
}

/** Job `job`'s watermark, ready for its runs; undefined when it asked for none. */
export async function watermarkFile(
  job: Job,
  dir: string,
  ctx: { config: TranscoderConfig; storage: MediaStorage; signal: AbortSignal },
): Promise<WatermarkRun | undefined> {
  if (!job.watermark) return undefined
  const path = await ctx.storage.localAsset(jobAssetName(job.job_id, 'watermark.png'), dir)
  await runProcess(ctx.config.FFMPEG_PATH, decodeCheckArgs(path), {
    timeoutMs: 60_000,
    signal: ctx.signal,
    maxStdout: 0,
    memoryLimitMb: ctx.config.memoryLimitMb,
  }).catch((error: unknown) => {
    if (error instanceof ProcessError && error.reason === 'exit' && error.exitCode !== null) {
      const why = lastLine(error.stderr.replaceAll(`file:${path}`, 'watermark').replaceAll(path, 'watermark'))
      throw new PermanentJobError(
        'invalid_watermark',
        `The watermark image is not a PNG ffmpeg can decode${why ? ` (${why})` : ''}`,
      )
    }
    // Killed, timed out, aborted: the retry policy's to judge, as for any run.
    throw error
  })
  return { path, placement: job.watermark }
}
