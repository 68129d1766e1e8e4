import {
  AppError,
  DEFAULT_WATERMARK_MAX_BYTES,
  DEFAULT_WATERMARK_MAX_PER_KEY,
  DEFAULT_WATERMARK_MAX_SIDE,
  invalidWatermark,
  type JobOptions,
  jobAssetName,
  WatermarkSchema,
} from '@vpp/shared'
import type { IngestDeps } from './deps.ts'

/**
 * A job's watermark image, found when it is created: the PNG uploaded with the video
 * (`watermark_image`), a stored one named by `watermark.image`, or the key's default; then
 * copied into the job (its asset `{id}.watermark.png`, removed with its upload), so a later
 * `DELETE /watermarks/{id}` never touches a job.
 */

/** The storage asset of stored watermark `id`. */
export const watermarkAsset = (id: string) => `watermark-${id}.png`

/** The owner of stored watermarks: the API key's id, or `''` when keys are off (one shared owner). */
export const watermarkOwner = (apiClient: string | undefined) => apiClient ?? ''

export const watermarkLimits = (deps: IngestDeps) => ({
  maxBytes: deps.watermarkMaxBytes ?? DEFAULT_WATERMARK_MAX_BYTES,
  maxSide: deps.watermarkMaxSide ?? DEFAULT_WATERMARK_MAX_SIDE,
  maxPerKey: deps.watermarkMaxPerKey ?? DEFAULT_WATERMARK_MAX_PER_KEY,
})

const NO_IMAGE =
  'no watermark image: upload one with the video (multipart part "watermark_image"), name a stored one ' +
  '(watermark.image, from POST /watermarks), or make one your default (POST /watermarks with default=true)'

/**
 * The options with the watermark's image settled (400 `invalid_watermark` when there is none,
 * or it is not the key's): `watermark.image` names the stored image the job gets (the default's
 * id when it named none), absent when `uploaded` is the image. An uploaded image without a
 * `watermark` field is placed by the defaults.
 */
export async function settleWatermark(
  deps: IngestDeps,
  options: JobOptions,
  owner: string,
  uploaded?: Uint8Array,
): Promise<JobOptions> {
  const watermark = options.watermark ?? (uploaded ? WatermarkSchema.parse({}) : undefined)
  if (!watermark) return options
  if (uploaded) {
    if (watermark.image) {
      throw invalidWatermark('give either watermark.image or a "watermark_image" part, not both')
    }
    return { ...options, watermark }
  }
  const records = deps.store.watermarks
  const image = watermark.image ?? (await records.defaultOf(owner))
  if (!image) throw invalidWatermark(NO_IMAGE)
  // Another key's image is as unknown as one that never was: nothing says it exists.
  if (!(await records.get(image, owner))) {
    throw invalidWatermark(
      watermark.image
        ? `watermark.image ${image}: no such watermark for this key (POST /watermarks stores one)`
        : NO_IMAGE,
    )
  }
  return { ...options, watermark: { ...watermark, image } }
}

/** Copy the job's watermark image (settled by settleWatermark) into job `id`, if it has one. */
export async function copyWatermark(
  deps: IngestDeps,
  id: string,
  options: JobOptions,
  uploaded?: Uint8Array,
): Promise<void> {
  if (!options.watermark) return
  const image = options.watermark.image
  const bytes = image ? await deps.storage.readAsset(watermarkAsset(image)) : uploaded
  if (!bytes) throw invalidWatermark(`watermark.image ${image}: the image was deleted`)
  await deps.storage.putAsset(jobAssetName(id, 'watermark.png'), bytes).catch((error: unknown) => {
    throw new AppError('storage_unavailable', 'The upload store is unavailable; try again shortly', 503, {
      cause: error,
    })
  })
}

/** Remove job `id`'s copy again (the job was not created). */
export const dropWatermark = (deps: IngestDeps, id: string) =>
  deps.storage.removeAsset(jobAssetName(id, 'watermark.png')).catch(() => {})
