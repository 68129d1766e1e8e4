import { z } from 'zod'
import { AppError } from './errors.ts'

/**
 * Watermark images: what a PNG must be to be accepted (checked from its first bytes, no decoder),
 * the errors that refuse one, and the body `POST /watermarks` answers.
 */

/** WATERMARK_MAX_BYTES' default: 512 KiB, ample for a logo. */
export const DEFAULT_WATERMARK_MAX_BYTES = 512 * 1024
/** WATERMARK_MAX_PER_KEY's default: the most images one key (or, without keys, everyone) keeps. */
export const DEFAULT_WATERMARK_MAX_PER_KEY = 100
/** WATERMARK_MAX_SIDE's default, in pixels. */
export const DEFAULT_WATERMARK_MAX_SIDE = 2048

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]

export const invalidWatermark = (message: string) => new AppError('invalid_watermark', message, 400)

export const watermarkTooLarge = (maxBytes: number) =>
  new AppError(
    'watermark_too_large',
    `The watermark image is over ${maxBytes} bytes (WATERMARK_MAX_BYTES)`,
    413,
  )

/**
 * Pure: the size of a PNG from its signature and IHDR chunk (the first chunk, by the PNG
 * specification), each side 1 to `maxSide` pixels; else 400 `invalid_watermark` saying why.
 * Whether the rest decodes is the transcoder's to find (a job that cannot is `invalid_watermark`).
 */
export function pngSize(bytes: Uint8Array, maxSide: number): { width: number; height: number } {
  const isPng =
    bytes.length >= 33 &&
    PNG_SIGNATURE.every((byte, i) => bytes[i] === byte) &&
    new TextDecoder().decode(bytes.subarray(12, 16)) === 'IHDR'
  if (!isPng) throw invalidWatermark('The watermark image is not a PNG image')
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const width = view.getUint32(16)
  const height = view.getUint32(20)
  if (width < 1 || height < 1)
    throw invalidWatermark('The watermark image has no pixels (IHDR 0 wide or high)')
  if (width > maxSide || height > maxSide) {
    throw invalidWatermark(
      `The watermark image is ${width}x${height}; at most ${maxSide}x${maxSide} pixels (WATERMARK_MAX_SIDE)`,
    )
  }
  return { width, height }
}

export const WatermarkCreatedSchema = z
  .object({
    watermark_id: z.string().describe('Name it as `watermark.image` when creating a job'),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    size_bytes: z.number().int().positive(),
    default: z.boolean().describe("The key's default: used when a job's `watermark` names no image"),
  })
  .meta({
    id: 'WatermarkCreated',
    examples: [
      { watermark_id: 'wm_3f9c2a7b1d4e', width: 400, height: 120, size_bytes: 5120, default: false },
    ],
  })
export type WatermarkCreated = z.infer<typeof WatermarkCreatedSchema>

/** 409 `watermark_limit`: the key keeps `max` images already. */
export const watermarkLimit = (max: number) =>
  new AppError(
    'watermark_limit',
    `This key keeps ${max} watermark images already (WATERMARK_MAX_PER_KEY); delete some (DELETE /watermarks/{id}) first`,
    409,
  )

export const WatermarkListSchema = z
  .object({
    watermarks: z
      .array(
        WatermarkCreatedSchema.extend({
          created_at: z.string().describe('When it was stored, ISO 8601'),
        }),
      )
      .describe("The caller's stored images, newest first"),
  })
  .meta({
    id: 'WatermarkList',
    examples: [
      {
        watermarks: [
          {
            watermark_id: 'wm_3f9c2a7b1d4e',
            width: 400,
            height: 120,
            size_bytes: 5120,
            default: true,
            created_at: '2026-03-01T12:00:00.000Z',
          },
        ],
      },
    ],
  })
export type WatermarkList = z.infer<typeof WatermarkListSchema>
