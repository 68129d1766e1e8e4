import { type AccessEnv, AppError } from '@vpp/shared'
import { Hono } from 'hono'
import type { IngestContext } from '../context.ts'
import { accepted, replay } from '../enqueue.ts'
import { optionFields } from '../job-options.ts'
import { uploadDoc } from '../openapi.ts'
import { receiveUpload } from '../receive-upload.ts'
import {
  copyWatermark,
  dropWatermark,
  settleWatermark,
  watermarkLimits,
  watermarkOwner,
} from '../watermarks.ts'

/** `POST /upload`: a video in one multipart request, streamed to storage, then queued. */
export function uploadRoutes(ctx: IngestContext) {
  const { deps, limits } = ctx
  return new Hono<AccessEnv>().post('/upload', uploadDoc, limits.upload, async (c) => {
    if (!(c.req.header('content-type') ?? '').toLowerCase().startsWith('multipart/form-data')) {
      throw new AppError('bad_request', 'Expected a multipart/form-data body with a "file" field', 400)
    }
    const { scope, first } = await ctx.admit(c)
    if (first) return replay(c, first)
    const id = ctx.newId()
    const upload = await receiveUpload(c.req.raw, {
      id,
      maxBytes: deps.maxFileSize,
      storage: deps.storage,
      idleTimeoutMs: limits.uploadIdleTimeoutMs,
      totalTimeoutMs: limits.uploadTimeoutMs,
      watermark: watermarkLimits(deps),
    })
    try {
      const owner = c.get('apiClient')
      const options = await settleWatermark(
        deps,
        optionFields(upload.fields),
        watermarkOwner(owner),
        upload.watermark,
      )
      if (options.callback_url) await ctx.checkPublic(options.callback_url)
      await copyWatermark(deps, id, options, upload.watermark)
      const { job, created } = await ctx.enqueue({
        id,
        filename: upload.filename,
        source: 'upload',
        idempotency: scope,
        options,
        owner,
      })
      if (!created) {
        await Promise.all([upload.discard(), dropWatermark(deps, id)]) // the same key's first upload won the race
        return replay(c, job)
      }
      deps.metrics.uploadSize.observe(upload.size)
      return c.json(accepted(job), 202)
    } catch (error) {
      // not queued, so not kept: the client was told it failed
      await Promise.all([upload.discard(), dropWatermark(deps, id)])
      throw error
    }
  })
}
