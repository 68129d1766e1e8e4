import {
  type AccessEnv,
  AppError,
  pngSize,
  requestLimits,
  WATERMARK_ID_PATTERN,
  type WatermarkCreated,
  type WatermarkList,
  watermarkLimit,
  watermarkTooLarge,
} from '@vpp/shared'
import { Hono } from 'hono'
import type { IngestContext } from '../context.ts'
import { createWatermarkDoc, deleteWatermarkDoc, listWatermarksDoc } from '../openapi-watermarks.ts'
import { watermarkAsset, watermarkLimits, watermarkOwner } from '../watermarks.ts'

/** Room for the form's framing and its `default` field around the image. */
const FORM_OVERHEAD = 16 * 1024

/** `POST /watermarks`, `GET /watermarks` and `DELETE /watermarks/{id}`: watermark images kept for a key's jobs. */
export function watermarkRoutes(ctx: IngestContext) {
  const { deps } = ctx
  const { maxBytes, maxSide, maxPerKey } = watermarkLimits(deps)
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
      // The image first, then its record (counted against the cap in the same step): a record
      // never names a missing image, and one refused at the cap is removed again.
      const recorded = await deps.store.watermarks
        .create(
          id,
          { owner, width, height, size_bytes: bytes.byteLength, created_at: new Date().toISOString() },
          asDefault,
          maxPerKey,
        )
        .catch(async (error: unknown) => {
          await deps.storage.removeAsset(watermarkAsset(id)).catch(() => {})
          throw error
        })
      if (!recorded) {
        await deps.storage.removeAsset(watermarkAsset(id)).catch(() => {})
        throw watermarkLimit(maxPerKey)
      }
      const body: WatermarkCreated = {
        watermark_id: id,
        width,
        height,
        size_bytes: bytes.byteLength,
        default: asDefault,
      }
      return c.json(body, 201)
    })
    .get('/watermarks', listWatermarksDoc, ctx.limits.small, async (c) => {
      const { images, defaultId } = await deps.store.watermarks.list(watermarkOwner(c.get('apiClient')))
      const body: WatermarkList = {
        watermarks: images.map((image) => ({
          watermark_id: image.id,
          width: image.width,
          height: image.height,
          size_bytes: image.size_bytes,
          created_at: image.created_at,
          default: image.id === defaultId,
        })),
      }
      return c.json(body)
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
