import { type AccessEnv, AppError } from '@vpp/shared'
import { Hono } from 'hono'
import type { IngestContext } from '../context.ts'
import { accepted, replay } from '../enqueue.ts'
import { optionFields } from '../job-options.ts'
import { uploadDoc } from '../openapi.ts'
import { receiveUpload } from '../receive-upload.ts'

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
    })
    try {
      const options = optionFields(upload.fields)
      if (options.callback_url) await ctx.checkPublic(options.callback_url)
      const { job, created } = await ctx.enqueue({
        id,
        filename: upload.filename,
        source: 'upload',
        idempotency: scope,
        options,
        owner: c.get('apiClient'),
      })
      if (!created) {
        await upload.discard() // the same key's first upload won the race
        return replay(c, job)
      }
      deps.metrics.uploadSize.observe(upload.size)
      return c.json(accepted(job), 202)
    } catch (error) {
      await upload.discard() // not queued, so not kept: the client was told it failed
      throw error
    }
  })
}
