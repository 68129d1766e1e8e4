import { zValidator } from '@hono/zod-validator'
import {
  type AccessEnv,
  AppError,
  filenameFromUrl,
  jobOptions,
  PROFILE_NAMES,
  UploadUrlRequestSchema,
  zodMessage,
} from '@vpp/shared'
import { Hono } from 'hono'
import type { IngestContext } from '../context.ts'
import { accepted, replay } from '../enqueue.ts'
import { uploadUrlDoc } from '../openapi.ts'
import { copyWatermark, dropWatermark, settleWatermark, watermarkOwner } from '../watermarks.ts'

/** The body, by the schema the OpenAPI document shows; refused as 400 bad_request naming the field. */
const validBody = zValidator('json', UploadUrlRequestSchema, (result) => {
  if (!result.success) throw new AppError('bad_request', zodMessage(result.error), 400)
})

/** `POST /upload-url`: a video the transcoder downloads, queued once its URL is checked. */
export function uploadUrlRoutes(ctx: IngestContext) {
  return new Hono<AccessEnv>().post('/upload-url', uploadUrlDoc, ctx.limits.small, validBody, async (c) => {
    const { url, ...rest } = c.req.valid('json')
    const owner = c.get('apiClient')
    const options = await settleWatermark(ctx.deps, jobOptions(rest, PROFILE_NAMES), watermarkOwner(owner))
    const { scope, first } = await ctx.admit(c)
    if (first) {
      if (first.source_url !== url) {
        throw new AppError(
          'idempotency_key_reused',
          'This Idempotency-Key was used for a different request in the last 24 hours',
          422,
        )
      }
      return replay(c, first)
    }
    // Refused now when it can be told now; the transcoder checks again when it connects.
    await ctx.checkPublic(url)
    if (options.callback_url) await ctx.checkPublic(options.callback_url)
    const id = ctx.newId()
    await copyWatermark(ctx.deps, id, options)
    const { job, created } = await ctx
      .enqueue({ id, filename: filenameFromUrl(url), source: 'url', url, idempotency: scope, options, owner })
      .catch(async (error: unknown) => {
        await dropWatermark(ctx.deps, id)
        throw error
      })
    if (!created) await dropWatermark(ctx.deps, id)
    return created ? c.json(accepted(job), 202) : replay(c, job)
  })
}
