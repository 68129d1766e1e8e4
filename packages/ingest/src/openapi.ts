import {
  type ApiInfo,
  answer,
  type ErrorCase,
  errors,
  formRequest,
  headers,
  json,
  jsonRequest,
  KEY_ERRORS,
  SERVICE_ERRORS,
  TIMEOUT_ERRORS,
  UPLOAD_RESPONSE_EXAMPLE,
  UploadResponseSchema,
  UploadUrlRequestSchema,
} from '@vpp/shared'
import { type DescribeRouteOptions, describeRoute } from 'hono-openapi'
import { z } from 'zod'
import * as wm from './openapi-watermarks.ts'

/**
 * What ingest's OpenAPI document says of each route: the modules of routes/ put each of these
 * in front of its route's handler (hono-openapi's describeRoute), so a route and its
 * description are declared together, and a route without one is missing from the document
 * (which the tests catch).
 */

export const INGEST_API: ApiInfo = {
  title: 'Video pipeline: ingest',
  version: '0.1.0',
  description:
    'Uploads (multipart or resumable, tus 1.0) and URL imports become transcoding jobs; follow them on the ' +
    'status service (`GET /jobs/{job_id}`, port 8001). Every error is JSON `{ "error": code, "message": text }`.',
  tags: [
    { name: 'Uploads', description: 'A video in one request, or from a URL' },
    { name: 'Resumable uploads (tus)', description: 'tus 1.0 at /uploads: the upload id is the job id' },
    { name: 'Watermarks', description: "PNG images kept for a key's jobs (`watermark.image`)" },
    { name: 'Health and metrics', description: 'Probes and Prometheus; no key needed' },
  ],
}

const JOB_ID = UPLOAD_RESPONSE_EXAMPLE.job_id

type Parameter = NonNullable<DescribeRouteOptions['parameters']>[number]

/** A request header, with an example. */
const header = (name: string, description: string, example: string, required = false): Parameter => ({
  in: 'header',
  name,
  description,
  required,
  schema: { type: 'string' },
  example,
})

const IDEMPOTENCY_KEY = header(
  'Idempotency-Key',
  'Makes a retried request safe: the same key (1-255 printable ASCII characters) within 24 hours answers the first job again, with `Idempotent-Replayed: true`',
  'order-1234-video',
)

const ACCEPTED_HEADERS = headers({
  'Idempotent-Replayed': '`true` when this is the first answer of the same Idempotency-Key again',
})

const RATE_LIMITED: Record<number, readonly ErrorCase[]> = {
  429: [['rate_limited', 'Too many jobs created: at most 60 a minute; retry in 12s']],
}

/** The job options of both create routes, as refused. */
const OPTION_ERRORS: readonly ErrorCase[] = [
  ['bad_request', 'unknown profile 4k; known: 720p, 480p, 360p, thumbnail, webm_720p, hls, storyboard'],
  ['url_not_allowed', '10.0.0.5 is not a public address'],
  wm.UNKNOWN_WATERMARK,
]

/**
 * The job options as text fields: `POST /upload`'s multipart fields and a tus upload's
 * `Upload-Metadata` entries (optionFields parses both with it, then jobOptions checks them).
 */
export const JobOptionFieldsSchema = z.object({
  profiles: z.string().optional().describe('Profile names, comma-separated: `720p,hls`'),
  metadata: z.string().optional().describe('Your own JSON object, as JSON text (1 KB at most)'),
  callback_url: z
    .string()
    .optional()
    .describe("An http(s) URL on the public internet for this job's webhooks"),
  clip: z
    .string()
    .optional()
    .describe(
      'Transcode only this range, in seconds: `12.5-30`, or JSON `{"start":12.5,"end":30}`; at least 0.1 s long. Past the end of the video, the job fails (`clip_out_of_range`)',
    ),
  watermark: z
    .string()
    .optional()
    .describe(
      'A watermark, as JSON text: `{"image":"wm_...","position":"bottom-right","width":0.15,"margin":0.02}` (every field optional)',
    ),
  normalize_audio: z
    .string()
    .optional()
    .describe('`true`: normalise the audio to -16 LUFS integrated (EBU R128)'),
})

/** `POST /upload`: its multipart fields (read by receiveUpload as they stream; the options by JobOptionFieldsSchema). */
export const UploadFormSchema = z
  .object({
    file: z.string().meta({
      format: 'binary',
      contentMediaType: 'application/octet-stream',
      description: 'The video (mp4, mov, avi, mkv or webm, by name and by content), at most MAX_FILE_SIZE',
    }),
    watermark_image: wm.WATERMARK_IMAGE_PART,
    ...JobOptionFieldsSchema.shape,
  })
  .meta({
    id: 'UploadForm',
    examples: [{ file: '(the bytes of video.mp4)', profiles: '720p,hls', metadata: '{"user":"u-1"}' }],
  })

/** An upload that met a full disk (nothing of it kept). */
const DISK_FULL: Record<number, readonly ErrorCase[]> = {
  507: [['disk_full', 'No space left on the upload volume (UPLOAD_DIR)']],
}

export const uploadDoc = describeRoute({
  tags: ['Uploads'],
  summary: 'Upload a video',
  description:
    "The file is streamed to storage under the job id (never the client's name) and the job queued once it is " +
    'stored whole. Its content must start like an mp4/mov, avi or mkv/webm file, whatever its name says.',
  parameters: [IDEMPOTENCY_KEY],
  requestBody: formRequest(UploadFormSchema),
  responses: {
    202: answer('Stored and queued', json(UploadResponseSchema), ACCEPTED_HEADERS),
    ...errors({
      400: [
        ['bad_request', 'Missing multipart field "file" with the video file'],
        ['empty_file', 'The file is empty'],
        ['url_not_allowed', '10.0.0.5 is not a public address'],
        wm.NOT_A_PNG,
      ],
      ...KEY_ERRORS,
      408: [['upload_timeout', 'Upload stalled: nothing received for 30s']],
      413: [['file_too_large', 'File too large'], wm.WATERMARK_TOO_LARGE],
      415: [['invalid_file_type', 'Invalid file type']],
      ...RATE_LIMITED,
      ...SERVICE_ERRORS,
      503: [
        ...(SERVICE_ERRORS[503] ?? []),
        ['storage_unavailable', 'The upload store is unavailable; try again shortly'],
      ],
      ...DISK_FULL,
    }),
  },
})

export const uploadUrlDoc = describeRoute({
  tags: ['Uploads'],
  summary: 'Import a video from a URL',
  description:
    'The URL must name the public internet (checked now, with a DNS lookup, and again by the transcoder when it ' +
    'connects); the transcoder downloads it.',
  parameters: [IDEMPOTENCY_KEY],
  requestBody: jsonRequest(UploadUrlRequestSchema),
  responses: {
    202: answer('Queued', json(UploadResponseSchema), ACCEPTED_HEADERS),
    ...errors({
      400: [
        ['bad_request', 'url: url must be an absolute http:// or https:// URL'],
        ['url_not_allowed', '10.0.0.5 is not a public address'],
        ['invalid_url', 'The host video.example could not be resolved'],
        wm.UNKNOWN_WATERMARK,
      ],
      ...KEY_ERRORS,
      ...TIMEOUT_ERRORS,
      413: [['payload_too_large', 'The request body is larger than 16384 bytes']],
      422: [
        [
          'idempotency_key_reused',
          'This Idempotency-Key was used for a different request in the last 24 hours',
        ],
      ],
      ...RATE_LIMITED,
      ...SERVICE_ERRORS,
    }),
  },
})

// Resumable uploads: tus 1.0, its headers as parameters.

const TUS_RESUMABLE = header('Tus-Resumable', 'The tus version: `1.0.0` (412 without it)', '1.0.0', true)
const UPLOAD_ID: Parameter = {
  in: 'path',
  name: 'id',
  required: true,
  description: "The upload's id: its job's id, the last segment of the creation's `Location`",
  schema: { type: 'string', pattern: '^[A-Za-z0-9-]{1,64}$' },
  example: JOB_ID,
}
const TUS_HEADERS = headers({ 'Tus-Resumable': '`1.0.0`' })
const CHUNK_BODY = {
  'application/offset+octet-stream': {
    schema: { type: 'string', format: 'binary', contentMediaType: 'application/offset+octet-stream' },
  },
} as const

/** What every tus request can be refused with, by tus itself or by our rules around it. */
const TUS_ERRORS: Record<number, readonly ErrorCase[]> = {
  ...KEY_ERRORS,
  412: [['tus_version_required', 'Tus-Resumable Required']],
  ...SERVICE_ERRORS,
}
const UPLOAD_GONE: Record<number, readonly ErrorCase[]> = {
  404: [['not_found', `No upload ${JOB_ID}`]],
  410: [['upload_gone', 'The file for this url no longer exists']],
}
const FINISHED: readonly ErrorCase[] = [
  ['upload_finished', `Upload ${JOB_ID} is complete and is job ${JOB_ID} now`],
]
const SNIFFED: Record<number, readonly ErrorCase[]> = {
  408: [['upload_timeout', 'The upload stalled or took too long']],
  413: [['file_too_large', 'Maximum size exceeded']],
  415: [['invalid_file_type', 'Unsupported file type: expected an mp4, mov, avi, mkv or webm video']],
}

export const tusCreateDoc = describeRoute({
  tags: ['Resumable uploads (tus)'],
  summary: 'Create a resumable upload',
  description:
    'tus creation (and creation-with-upload: a first chunk in the body). Answers 201 with `Location: …/uploads/{job_id}`; ' +
    "when the last byte is stored, the job is created and queued as a multipart upload's. The rate limit counts " +
    "creations; an Idempotency-Key answers the first upload's Location again.",
  parameters: [
    TUS_RESUMABLE,
    header(
      'Upload-Length',
      'The size of the whole upload in bytes, at most MAX_FILE_SIZE (required: no deferred length)',
      '1048576',
      true,
    ),
    header(
      'Upload-Metadata',
      'Comma-separated `key base64(value)` pairs: `filename`, `profiles`, `metadata` (JSON text), `callback_url`',
      'filename aG9saWRheS5tcDQ=,profiles NzIwcCxobHM=',
    ),
    header(
      'Content-Type',
      '`application/offset+octet-stream` when the body carries a first chunk',
      'application/offset+octet-stream',
    ),
    IDEMPOTENCY_KEY,
  ],
  requestBody: { required: false, content: CHUNK_BODY },
  responses: {
    201: answer(
      'Created',
      undefined,
      headers({
        Location: `The upload's URL: \`…/uploads/{job_id}\``,
        'Tus-Resumable': '`1.0.0`',
        'Upload-Offset': 'Bytes stored, when the body carried a first chunk',
        'Upload-Expires': 'When an unfinished upload is removed (UPLOAD_EXPIRY_HOURS)',
        'Idempotent-Replayed': '`true` when this is the first upload of the same Idempotency-Key',
      }),
    ),
    ...errors({
      400: [
        ['defer_length_unsupported', 'Upload-Length is required: a deferred length is not accepted'],
        ['empty_file', 'The file is empty'],
        ...OPTION_ERRORS,
      ],
      ...TUS_ERRORS,
      ...SNIFFED,
      ...RATE_LIMITED,
      ...DISK_FULL,
    }),
  },
})

export const tusOptionsDoc = describeRoute({
  tags: ['Resumable uploads (tus)'],
  summary: "The server's tus capabilities",
  description: 'tus discovery (and CORS preflight): versions, extensions and the largest upload.',
  responses: {
    204: answer(
      'Capabilities',
      undefined,
      headers({
        'Tus-Version': '`1.0.0`',
        'Tus-Extension':
          'The extensions tus offers (`creation-defer-length` is refused, 400 defer_length_unsupported)',
        'Tus-Max-Size': 'MAX_FILE_SIZE, in bytes',
      }),
    ),
    ...errors({ ...KEY_ERRORS, ...SERVICE_ERRORS }),
  },
})

export const tusOffsetDoc = describeRoute({
  tags: ['Resumable uploads (tus)'],
  summary: 'How much of an upload is stored',
  description:
    'Where to resume from. A finished upload (a job now) still answers 200, with `Upload-Offset` equal to ' +
    '`Upload-Length`, for a day. No body (errors too: HEAD answers carry none).',
  parameters: [UPLOAD_ID, TUS_RESUMABLE],
  responses: {
    200: answer(
      'Stored so far',
      undefined,
      headers({
        'Upload-Offset': 'Bytes stored',
        'Upload-Length': 'The size of the whole upload',
        'Upload-Metadata': 'As given at creation',
        'Upload-Expires': 'When an unfinished upload is removed',
        'Cache-Control': '`no-store`',
        'Tus-Resumable': '`1.0.0`',
      }),
    ),
    401: answer('`unauthorized` (no body)'),
    404: answer("`not_found`: no such upload, or another key's (no body)"),
    410: answer('`upload_gone`: expired (no body)'),
    412: answer('`tus_version_required` (no body)'),
    503: answer('`unavailable` (no body)'),
  },
})

export const tusPatchDoc = describeRoute({
  tags: ['Resumable uploads (tus)'],
  summary: 'Send the next chunk',
  description:
    'Appends the body at `Upload-Offset`. A request cut short keeps what came (resume from HEAD); one that meets ' +
    'a full disk (507) keeps none of its bytes. Any replica ' +
    'resumes any upload: a newer request for the same upload makes an older one end within a second.',
  parameters: [
    UPLOAD_ID,
    TUS_RESUMABLE,
    header('Upload-Offset', 'Bytes already stored (from HEAD)', '524288', true),
    header('Content-Type', '`application/offset+octet-stream`', 'application/offset+octet-stream', true),
  ],
  requestBody: { required: true, content: CHUNK_BODY },
  responses: {
    204: answer(
      'Stored',
      undefined,
      headers({
        'Upload-Offset': 'Bytes stored now',
        'Upload-Expires': 'When an unfinished upload is removed',
        'Tus-Resumable': '`1.0.0`',
      }),
    ),
    ...errors({
      400: [['bad_request', 'Invalid content-type']],
      ...TUS_ERRORS,
      403: [['forbidden', 'Upload-Offset header required']],
      ...UPLOAD_GONE,
      409: [['upload_offset_mismatch', 'Upload-Offset conflict'], ...FINISHED],
      ...SNIFFED,
      ...DISK_FULL,
    }),
  },
})

export const tusDeleteDoc = describeRoute({
  tags: ['Resumable uploads (tus)'],
  summary: 'Abandon an upload',
  description:
    'tus termination: the stored bytes go. A finished upload is a job: delete the job on status instead.',
  parameters: [UPLOAD_ID, TUS_RESUMABLE],
  responses: {
    204: answer('Removed', undefined, TUS_HEADERS),
    ...errors({ ...TUS_ERRORS, ...UPLOAD_GONE, 409: FINISHED }),
  },
})

export const tusGetDoc = describeRoute({
  tags: ['Resumable uploads (tus)'],
  summary: 'Not a download',
  description:
    'tus defines no GET: an unfinished upload answers 404, a finished one 409 (its renditions are on status, ' +
    '`GET /jobs/{job_id}`).',
  parameters: [UPLOAD_ID],
  responses: errors({
    ...KEY_ERRORS,
    404: [['not_found', 'The file for this url was not found']],
    409: FINISHED,
    ...SERVICE_ERRORS,
  }),
})
