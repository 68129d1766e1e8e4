import {
  answer,
  documentRoute,
  errors,
  headers,
  JOB_EXAMPLE,
  json,
  KEY_ERRORS,
  NO_KEY,
  OriginalLinkSchema,
  SERVICE_ERRORS,
  TIMEOUT_ERRORS,
} from '@vpp/shared'
import { JOB_ID_PARAM } from './openapi.ts'

/** What status's OpenAPI document says of the original's routes (routes/original.ts). */

const JOB_ID = JOB_EXAMPLE.job_id
const COMMON = { ...KEY_ERRORS, ...TIMEOUT_ERRORS, ...SERVICE_ERRORS }
const BYTES = { schema: { type: 'string', format: 'binary' } } as const

export const originalDoc = documentRoute({
  tags: ['Jobs'],
  summary: "The job's original upload",
  description:
    'A short-lived URL (ORIGINAL_URL_TTL, default 300 s) that downloads the upload as it came, while it is kept: ' +
    'a completed job with KEEP_ORIGINALS on the transcoders (the record says `original: kept`) until retention ' +
    'removes it with the outputs (`original: removed`), or a failed job (its upload stays for a retry). S3: a ' +
    'presigned GET; local storage: a signed `/originals/{token}/{job_id}` URL. Ask again for a fresh one.',
  parameters: [JOB_ID_PARAM],
  responses: {
    200: answer('Where to download it, until when', json(OriginalLinkSchema)),
    ...errors({
      404: [
        ['not_found', `Job ${JOB_ID} not found`],
        [
          'original_not_kept',
          `KEEP_ORIGINALS was off when job ${JOB_ID} completed: its upload was removed then`,
        ],
        [
          'original_removed',
          `The original of job ${JOB_ID} was removed with its outputs at 2026-12-31T12:00:00.000Z (OUTPUT_RETENTION_DAYS)`,
        ],
      ],
      409: [
        ['job_not_finished', `Job ${JOB_ID} is processing: its original is answered once it has finished`],
      ],
      ...COMMON,
    }),
  },
})

export const originalFileDoc = documentRoute({
  tags: ['Jobs'],
  summary: 'Download an original (signed URL, local storage)',
  description:
    'What `GET /jobs/{job_id}/original` gives out with local storage: the upload, as an attachment under its ' +
    'file name, until the token expires (no key needed: the token is the credential, and opens no media).',
  security: NO_KEY,
  parameters: [
    {
      in: 'path',
      name: 'token',
      required: true,
      description: "`{expiry}.{signature}`, made for this job's original",
      schema: { type: 'string' },
      example: '1764590300.q1UHbO0YhX3xjvgZ3m3mIRq0pYbW9G1xI7g2d8E5yK4',
    },
    JOB_ID_PARAM,
  ],
  responses: {
    200: answer(
      'The upload',
      { 'application/octet-stream': BYTES },
      headers({
        'Content-Disposition': '`attachment; filename="holiday.mp4"; filename*=UTF-8\'\'holiday.mp4`',
      }),
    ),
    206: answer('The range asked for', { 'application/octet-stream': BYTES }),
    304: answer('Not modified'),
    ...errors({
      403: [
        ['forbidden', 'This URL is not signed for this original'],
        ['token_expired', `This original's URL has expired; GET /jobs/${JOB_ID}/original gives a fresh one`],
      ],
      404: [
        ['not_found', `Job ${JOB_ID} not found`],
        [
          'original_not_kept',
          `KEEP_ORIGINALS was off when job ${JOB_ID} completed: its upload was removed then`,
        ],
        ['original_removed', `The original of job ${JOB_ID} is no longer in storage`],
      ],
      409: [
        ['job_not_finished', `Job ${JOB_ID} is processing: its original is answered once it has finished`],
      ],
      416: [['range_not_satisfiable', "The range bytes=7340032- is not within the file's 7340032 bytes"]],
      ...TIMEOUT_ERRORS,
      ...SERVICE_ERRORS,
    }),
  },
})
