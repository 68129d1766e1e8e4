import {
  type AccessEnv,
  AppError,
  pngSize,
  requestLimits,
  WATERMARK_ID_PATTERN,
  type WatermarkCreated,
  watermarkTooLarge,
} from '@vpp/shared'
import { Hono } from 'hono'
import type { IngestContext } from '../context.ts'
import { createWatermarkDoc, deleteWatermarkDoc } from '../openapi-watermarks.ts'
import { watermarkAsset, watermarkLimits, watermarkOwner } from '../watermarks.ts'

/** Room for the form's framing and its `default` field around the image. */
const FORM_OVERHEAD = 16 * 1024

/** `POST /watermarks` and `DELETE /watermarks/{id}`: watermark images kept for a key's jobs. */
export function watermarkRoutes(ctx: IngestContext) {
  const { deps } = ctx
  const { maxBytes, maxSide } = watermarkLimits(deps)
  const limit = requestLimits({
    maxBytes: maxBytes + FORM_OVERHEAD,
    timeoutMs: deps.requestTimeoutMs ?? 10_000,
    tooLarge: () => watermarkTooLarge(maxBytes),
  })
  return new Hono<AccessEnv>()
    .post('/watermarks', createWatermarkDoc, limit, async (c) => {
      const form = await c.req.formData().catch(() => null)
      const file = form?.get('file')
      if (!form || !(file instanceof Blob)) {
        throw new AppError(
          'bad_request',
          'Expected a multipart/form-data body with a "file" part (a PNG)',
          400,
        )
      }
      if (file.size > maxBytes) throw watermarkTooLarge(maxBytes)
      const bytes = new Uint8Array(await file.arrayBuffer())
      const { width, height } = pngSize(bytes, maxSide)
      const asDefault = form.get('default') === 'true'
      const owner = watermarkOwner(c.get('apiClient'))
      const id = `wm_${crypto.randomUUID().replaceAll('-', '').slice(0, 20)}`
      await deps.storage.putAsset(watermarkAsset(id), bytes)
      await deps.store.watermarks.create(
        id,
        { owner, width, height, size_bytes: bytes.byteLength, created_at: new Date().toISOString() },
        asDefault,
      )
      const body: WatermarkCreated = {
        watermark_id: id,
        width,
        height,
        size_bytes: bytes.byteLength,
        default: asDefault,
      }
      return c.json(body, 201)
    })
    .delete('/watermarks/:id', deleteWatermarkDoc, ctx.limits.small, async (c) => {
      const id = c.req.param('id')
      const owner = watermarkOwner(c.get('apiClient'))
      // Another key's image answers as one that never was.
      if (!WATERMARK_ID_PATTERN.test(id) || !(await deps.store.watermarks.get(id, owner))) {
        throw new AppError('not_found', `No watermark ${id}`, 404)
      }
      await deps.store.watermarks.remove(id, owner)
      await deps.storage.removeAsset(watermarkAsset(id))
      return c.body(null, 204)
    })
}
