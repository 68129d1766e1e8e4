import { access, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { AppError, MEDIA_TYPES } from '@vpp/shared'
import { ProcessError, runProcess } from '@vpp/shared/node'
import type { JobFiles } from '../job-files.ts'
import { animatedArgs, thumbnailArgs } from './args.ts'
import type { RenderRun } from './service.ts'

export interface FfmpegRenderOptions {
  /** Kill a render's ffmpeg after this long. */
  timeoutMs: number
  /** The ffmpeg binary (default `ffmpeg` on PATH). */
  ffmpeg?: string
  /** The nice level renders run at, below status's own request handling. */
  nice?: number
}

/** How long the presigned GET of an S3 source is valid: a render reads it within its timeout. */
const SOURCE_URL_SECONDS = 300

/**
 * Renders with ffmpeg on this machine (Node): the source is read in place (a local path, or a
 * presigned GET of the S3 object), the image written to a scratch folder, then published
 * through `files`, from a scratch folder of `files.workDir`.
 */
export function ffmpegRender(files: JobFiles, options: FfmpegRenderOptions): RenderRun {
  return async (jobId, sourceName, render, name) => {
    const file = name.split('/').pop() ?? name
    const dir = await files.workDir(jobId, `render-${file}`)
    try {
      const source = await files.source(jobId, sourceName, SOURCE_URL_SECONDS)
      const out = join(dir, file)
      const args =
        render.kind === 'thumbnail' ? thumbnailArgs(source, render, out) : animatedArgs(source, render, out)
      await runProcess(options.ffmpeg ?? 'ffmpeg', args, {
        timeoutMs: options.timeoutMs,
        nice: options.nice ?? 5,
      }).catch((error) => {
        if (error instanceof ProcessError && error.reason === 'timeout') {
          const busy = new AppError('render_busy', `The render took over ${options.timeoutMs / 1000} s`, 503)
          busy.headers['Retry-After'] = '1'
          throw busy
        }
        throw error
      })
      // ffmpeg writes no image when no frame starts at or after the time (past the last one).
      const written = await access(out).then(
        () => true,
        () => false,
      )
      if (!written)
        throw new AppError('bad_request', `No frame of the video starts at or after that time`, 400)
      const contentType = MEDIA_TYPES[file.split('.').pop() ?? ''] ?? 'application/octet-stream'
      await files.publish(jobId, [{ name, path: out, contentType }])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }
}
