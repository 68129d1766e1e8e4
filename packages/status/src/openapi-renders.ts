import { answer, documentRoute, errors, headers } from '@vpp/shared'
import {
  BYTES,
  type Cases,
  JOB_ID_PARAM,
  KEY_OR_TOKEN,
  MEDIA_ERRORS,
  MEDIA_HEADERS,
  type Parameter,
} from './openapi.ts'

/** What status's OpenAPI document says of the on-demand renders (routes/media.ts, routes/renders.ts). */

const seconds = (name: string, description: string, example: number): Parameter => ({
  in: 'query',
  name,
  description,
  schema: { type: 'number', minimum: 0 },
  example,
})
const whole = (name: string, description: string, minimum: number, maximum: number, example: number) =>
  ({
    in: 'query',
    name,
    description,
    schema: { type: 'integer', minimum, maximum },
    example,
  }) satisfies Parameter

/** What a render answers besides a file's errors: bad parameters, the limits. */
const RENDER_ERRORS: Cases = {
  ...MEDIA_ERRORS,
  400: [['bad_request', 'time must be at most 9.958 s: the video is 10 s long']],
  404: [
    [
      'not_found',
      'Job 0b3c5f0e-3c1e-4d8a-9a4e-2f1f0c6a9b7d has no completed H.264 MP4 rendition to render from',
    ],
  ],
  429: [
    ['rate_limited', 'Too many renders: at most 60 a minute; retry in 12s'],
    [
      'render_limit',
      'Job 0b3c5f0e-3c1e-4d8a-9a4e-2f1f0c6a9b7d has 200 renders already (RENDER_MAX_PER_JOB): ask for one of those',
    ],
  ],
  503: [
    ['render_busy', 'Too many renders in progress (2 running, 8 waiting); retry in a second'],
    ['unavailable', 'The job store is unavailable; try again shortly'],
  ],
}

const RENDERED = (type: 'image/jpeg' | 'image/webp', what: string) => ({
  200: answer(what, { [type]: BYTES }, MEDIA_HEADERS),
  302: answer(
    'S3 storage: the render at a fresh presigned URL',
    undefined,
    headers({ Location: 'The presigned GET' }),
  ),
  304: answer('Not modified (If-None-Match / If-Modified-Since)'),
  ...errors(RENDER_ERRORS),
})

const LIMITS =
  'Made from the top H.264 MP4 rendition with a fast seek, once: then kept under the job (`renders/`), served like ' +
  'any of its files, and removed with it. Only a render not made yet counts toward the limits: RENDER_RATE_PER_MINUTE ' +
  'a minute per key (signed URLs: per job owner; 429 `rate_limited`, Retry-After), RENDER_MAX_PER_JOB distinct ' +
  'renders per job (429 `render_limit`), RENDER_CONCURRENCY at once per process with RENDER_QUEUE more waiting up to ' +
  '5 s (503 `render_busy`, Retry-After: 1). Signed: `/media/{token}/{job_id}/…` with the same query.'

export const thumbnailDoc = documentRoute({
  tags: ['Media'],
  summary: 'A thumbnail at a time and width',
  description: `Without \`time\` and \`width\`: the published thumbnail. With either: one JPEG frame rendered on demand. ${LIMITS}`,
  security: KEY_OR_TOKEN,
  parameters: [
    JOB_ID_PARAM,
    seconds(
      'time',
      'Seconds into the video, to the millisecond, up to its duration less 1/24 s (default a quarter in, at most 60 s)',
      12.5,
    ),
    whole(
      'width',
      'Width in pixels, even, up to the rendition width and 1920 (default the rendition width); the height keeps the proportions',
      16,
      1920,
      640,
    ),
  ],
  responses: RENDERED('image/jpeg', 'The frame (JPEG)'),
})

export const animatedDoc = documentRoute({
  tags: ['Media'],
  summary: 'An animated preview (WebP)',
  description: `An endlessly looping animated WebP of a part of the video, without sound, rendered on demand. ${LIMITS}`,
  security: KEY_OR_TOKEN,
  parameters: [
    JOB_ID_PARAM,
    seconds('start', 'Where it starts, in seconds (default 0)', 0),
    seconds(
      'end',
      'Where it ends, in seconds: at most 10 s after start and not past the video (default start + 5 s, cut at the end)',
      5,
    ),
    whole('fps', 'Frames a second (default 15)', 1, 30, 15),
    whole('width', 'Width in pixels, even, up to the rendition width and 640 (default 320)', 16, 640, 320),
  ],
  responses: RENDERED('image/webp', 'The animated WebP: round((end - start) × fps) frames'),
})
