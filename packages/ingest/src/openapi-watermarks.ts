import {
  answer,
  type ErrorCase,
  errors,
  formRequest,
  json,
  KEY_ERRORS,
  SERVICE_ERRORS,
  TIMEOUT_ERRORS,
  WatermarkCreatedSchema,
  WatermarkListSchema,
} from '@vpp/shared'
import { describeRoute } from 'hono-openapi'
import { z } from 'zod'

/** What ingest's OpenAPI document says of the stored watermark images' routes. */

export const WatermarkFormSchema = z
  .object({
    file: z.string().meta({
      format: 'binary',
      contentMediaType: 'image/png',
      description:
        'A PNG (transparency kept), at most WATERMARK_MAX_BYTES and WATERMARK_MAX_SIDE pixels a side',
    }),
    default: z
      .string()
      .optional()
      .describe("`true`: the key's default, used when a job's `watermark` names no image"),
  })
  .meta({ id: 'WatermarkForm', examples: [{ file: '(the bytes of logo.png)', default: 'true' }] })

export const NOT_A_PNG: ErrorCase = ['invalid_watermark', 'The watermark image is not a PNG image']
export const UNKNOWN_WATERMARK: ErrorCase = [
  'invalid_watermark',
  'watermark.image wm_3f9c2a7b1d4e: no such watermark for this key (POST /watermarks stores one)',
]
export const DELETED_WATERMARK: ErrorCase = [
  'invalid_watermark',
  'watermark.image wm_3f9c2a7b1d4e: the image was deleted',
]
export const WATERMARK_LIMIT: ErrorCase = [
  'watermark_limit',
  'This key keeps 100 watermark images already (WATERMARK_MAX_PER_KEY); delete some (DELETE /watermarks/{id}) first',
]
export const WATERMARK_TOO_LARGE: ErrorCase = [
  'watermark_too_large',
  'The watermark image is over 524288 bytes (WATERMARK_MAX_BYTES)',
]

/** `POST /upload`'s `watermark_image` part. */
export const WATERMARK_IMAGE_PART = z.string().optional().meta({
  format: 'binary',
  contentMediaType: 'image/png',
  description:
    'A PNG laid over the video (placed by `watermark`, or by its defaults), at most WATERMARK_MAX_BYTES and WATERMARK_MAX_SIDE pixels a side',
})

export const createWatermarkDoc = describeRoute({
  tags: ['Watermarks'],
  summary: 'Store a watermark image',
  description:
    'Kept for the API key that stores it (another key can neither use nor delete it; without keys, one shared ' +
    'set). A job names it as `watermark.image`; the job gets its own copy when it is created. A key keeps at ' +
    'most WATERMARK_MAX_PER_KEY (409 `watermark_limit` past it: delete some first).',
  requestBody: formRequest(WatermarkFormSchema),
  responses: {
    201: answer('Stored', json(WatermarkCreatedSchema)),
    ...errors({
      400: [['bad_request', 'Expected a multipart/form-data body with a "file" part (a PNG)'], NOT_A_PNG],
      ...KEY_ERRORS,
      ...TIMEOUT_ERRORS,
      409: [WATERMARK_LIMIT],
      413: [WATERMARK_TOO_LARGE],
      ...SERVICE_ERRORS,
    }),
  },
})

export const listWatermarksDoc = describeRoute({
  tags: ['Watermarks'],
  summary: "List the key's watermark images",
  description:
    "Only the caller's own (without keys, the one shared set), newest first; `default` marks the one a job " +
    'gets when its `watermark` names no image. At most WATERMARK_MAX_PER_KEY.',
  responses: {
    200: answer('The images', json(WatermarkListSchema)),
    ...errors({ ...KEY_ERRORS, ...SERVICE_ERRORS }),
  },
})

export const deleteWatermarkDoc = describeRoute({
  tags: ['Watermarks'],
  summary: 'Delete a watermark image',
  description: "Jobs already created keep their copy. The key's default, if it was, is unset.",
  parameters: [
    {
      in: 'path',
      name: 'id',
      required: true,
      schema: { type: 'string', pattern: '^wm_[A-Za-z0-9]{8,40}$' },
      example: 'wm_3f9c2a7b1d4e',
    },
  ],
  responses: {
    204: answer('Deleted'),
    ...errors({
      ...KEY_ERRORS,
      404: [['not_found', 'No watermark wm_3f9c2a7b1d4e']],
      ...SERVICE_ERRORS,
    }),
  },
})
