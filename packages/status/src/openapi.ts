import {
  type ApiInfo,
  answer,
  CancelResponseSchema,
  DeliveryListSchema,
  DLQ_ENTRY_EXAMPLE,
  DlqListSchema,
  DlqRetryResponseSchema,
  documentRoute,
  type ErrorCase,
  errors,
  headers,
  JOB_EXAMPLE,
  JobPageSchema,
  JobSchema,
  json,
  KEY_ERRORS,
  SERVICE_ERRORS,
  StatsSchema,
  TIMEOUT_ERRORS,
  text,
} from '@vpp/shared'
import type { DescribeRouteOptions } from 'hono-openapi'

/**
 * What status's OpenAPI document says of each route: the route modules (routes/) put each of
 * these in front of its route's handler (hono-openapi's describeRoute), so a route and its
 * description are declared together, and a route without one is missing from the document (which
 * the tests catch). A query's parameters come from the zod schema its route validates it with.
 */

export const STATUS_API: ApiInfo = {
  title: 'Video pipeline: status',
  version: '0.1.0',
  description:
    'Job records, their media, their events (SSE) and webhook deliveries, pipeline stats and the dead-letter ' +
    'queue. Jobs are created on the ingest service (port 8000). With API keys on, each key sees its own jobs ' +
    "(another key's answer 404) and admin keys see every job, `/stats` and `/dlq`. Every error is JSON " +
    '`{ "error": code, "message": text }`.',
  tags: [
    { name: 'Jobs', description: 'Job records: read, list, cancel, delete' },
    { name: 'Media', description: "A job's published files, signed or with the owner's key" },
    { name: 'Events', description: 'Server-sent events from the job event log, and webhook deliveries' },
    { name: 'Operations', description: 'Stats and the dead-letter queue: admin keys only' },
    { name: 'Health and metrics', description: 'Probes and Prometheus; no key needed' },
  ],
}

export type Parameter = NonNullable<DescribeRouteOptions['parameters']>[number]
export type Cases = Record<number, readonly ErrorCase[]>

const JOB_ID = JOB_EXAMPLE.job_id
const MESSAGE_ID = DLQ_ENTRY_EXAMPLE.message_id

export const JOB_ID_PARAM: Parameter = {
  in: 'path',
  name: 'job_id',
  required: true,
  description: 'The job id (from the create answer)',
  schema: { type: 'string' },
  example: JOB_ID,
}
const MESSAGE_ID_PARAM: Parameter = {
  in: 'path',
  name: 'message_id',
  required: true,
  description: "The dead-letter entry's id (`message_id` in GET /dlq)",
  schema: { type: 'string', pattern: '^\\d{1,20}-\\d{1,20}$' },
  example: MESSAGE_ID,
}

/** What every status route can answer: no key, too slow, Redis away, a fault. */
const COMMON: Cases = { ...KEY_ERRORS, ...TIMEOUT_ERRORS, ...SERVICE_ERRORS }
/** A route that takes no body answers 413 to one over 1 KiB (DELETE and POST may carry one). */
const BODY_REFUSED: Cases = { 413: [['payload_too_large', 'The request body is larger than 1024 bytes']] }
const JOB_NOT_FOUND: Cases = { 404: [['not_found', `Job ${JOB_ID} not found`]] }
const ADMIN_ONLY: Cases = { 403: [['forbidden', '/stats needs an admin key (one of ADMIN_API_KEYS)']] }
const ENTRY_NOT_FOUND: Cases = { 404: [['not_found', `No dead-letter entry ${MESSAGE_ID}`]] }

export const listJobsDoc = documentRoute({
  tags: ['Jobs'],
  summary: 'List jobs',
  description:
    'Newest first, a page at a time; a cursor never repeats or skips a job, even while jobs are being created. ' +
    'Each key lists its own jobs (admin keys: every job).',
  responses: {
    200: answer('A page of jobs', json(JobPageSchema)),
    ...errors({ 400: [['bad_request', 'limit must be a whole number from 1 to 100']], ...COMMON }),
  },
})

export const getJobDoc = documentRoute({
  tags: ['Jobs'],
  summary: 'Get a job',
  description:
    'Its status, progress, outputs with their URLs and, once completed, `playback`; while processing, once ' +
    '`playable_at` is set (a job transcoded in chunks), `playback.hls` alone: the stream as published so far. ' +
    "Another key's job answers 404.",
  parameters: [JOB_ID_PARAM],
  responses: {
    200: answer('The job', json(JobSchema)),
    ...errors({ ...JOB_NOT_FOUND, ...COMMON }),
  },
})

export const deleteJobDoc = documentRoute({
  tags: ['Jobs'],
  summary: 'Delete a job',
  description:
    'Cancels it if it has not finished, then removes its record, listings, dead letter and idempotency key; its ' +
    'media answer 404 from then on, and a transcoder removes its files within about 5 s.',
  parameters: [JOB_ID_PARAM],
  responses: {
    204: answer('Deleted'),
    ...errors({ ...JOB_NOT_FOUND, ...BODY_REFUSED, ...COMMON }),
  },
})

export const cancelJobDoc = documentRoute({
  tags: ['Jobs'],
  summary: 'Cancel a job',
  description:
    'A queued or retrying job is canceled at once; a processing one too, and its ffmpeg is stopped within a second ' +
    'or two. Canceling twice answers 202 again.',
  parameters: [JOB_ID_PARAM],
  responses: {
    202: answer('Canceled', json(CancelResponseSchema)),
    ...errors({
      ...JOB_NOT_FOUND,
      409: [['job_finished', `Job ${JOB_ID} is already completed; it cannot be canceled`]],
      ...BODY_REFUSED,
      ...COMMON,
    }),
  },
})

const MEDIA_PARAMS: Parameter[] = [
  {
    in: 'path',
    name: 'first',
    required: true,
    description:
      "The job id (`/media/{job_id}/{file}`: no keys, or with the owner's key), or a signed URL's token " +
      '`{expiry}.{signature}` (`/media/{token}/{job_id}/{file}`, as job records give them out when keys are on: no header needed)',
    schema: { type: 'string' },
    example: JOB_ID,
  },
  {
    in: 'path',
    name: 'rest',
    required: true,
    description:
      'The file, which may hold slashes (`720p.mp4`, `hls/master.m3u8`); after a token, `{job_id}/{file}`',
    schema: { type: 'string' },
    example: 'hls/master.m3u8',
  },
  {
    in: 'header',
    name: 'Range',
    description: 'A byte range: 206 with Content-Range (416 when unsatisfiable)',
    schema: { type: 'string' },
    example: 'bytes=0-1023',
  },
]

export const MEDIA_HEADERS = headers({
  'Content-Type':
    'video/mp4, video/webm, image/jpeg, image/webp, application/vnd.apple.mpegurl, video/iso.segment, text/vtt',
  ETag: 'A weak ETag (304 on revalidation)',
  'Last-Modified': 'When the file was written',
  'Cache-Control':
    '`public, max-age=31536000, immutable` for renditions, segments and images; `public, max-age=60` for ' +
    'playlists and cues, but `no-cache` for the playlists of a job not completed (they grow while it is transcoded in chunks)',
  'Accept-Ranges': '`bytes`',
})

const MASTER_PLAYLIST =
  '#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-STREAM-INF:BANDWIDTH=2905112,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2"\n720p/index.m3u8\n'
const STORYBOARD = 'WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nstoryboard.jpg#xywh=0,0,160,90\n'
export const BYTES = { schema: { type: 'string', format: 'binary' } } as const
export const MEDIA_ERRORS: Cases = {
  ...KEY_ERRORS,
  403: [
    ['forbidden', 'This media URL is not signed for this job'],
    ['token_expired', `This media URL has expired; GET /jobs/${JOB_ID} gives fresh ones`],
  ],
  404: [['not_found', `No media at /media/${JOB_ID}/720p.mp4`]],
  ...TIMEOUT_ERRORS,
  ...SERVICE_ERRORS,
}
// Signed URLs carry their own credential: the key is one way in, the token the other.
export const KEY_OR_TOKEN: DescribeRouteOptions['security'] = [{ bearer: [] }, {}]

export const mediaDoc = documentRoute({
  tags: ['Media'],
  summary: "Fetch a job's file",
  description:
    'Renditions, HLS playlists and segments, the thumbnail and the storyboard, as job records link them. With S3 ' +
    'storage, playlists and cues come through here and any other file answers a 302 to a presigned GET. ' +
    '`thumbnail.jpg` with `time` or `width`, and `animated.webp`, are rendered on demand (their own entries).',
  security: KEY_OR_TOKEN,
  parameters: MEDIA_PARAMS,
  responses: {
    200: answer(
      'The file (also for a Range of several ranges, or one that cannot be read: it is ignored)',
      {
        'video/mp4': BYTES,
        'video/webm': BYTES,
        'image/jpeg': BYTES,
        'image/webp': BYTES,
        'video/iso.segment': BYTES,
        ...text('application/vnd.apple.mpegurl', MASTER_PLAYLIST, 'An HLS playlist'),
        ...text('text/vtt', STORYBOARD, 'The storyboard cues'),
      },
      MEDIA_HEADERS,
    ),
    206: answer(
      'The range asked for',
      { 'video/mp4': BYTES },
      headers({ 'Content-Range': '`bytes 0-1023/711860`' }),
    ),
    302: answer(
      'S3 storage: the file at a fresh presigned URL',
      undefined,
      headers({ Location: 'The presigned GET' }),
    ),
    304: answer('Not modified (If-None-Match / If-Modified-Since)'),
    ...errors({
      ...MEDIA_ERRORS,
      416: [['range_not_satisfiable', "The range bytes=711860- is not within the file's 711860 bytes"]],
    }),
  },
})

export const mediaHeadDoc = documentRoute({
  tags: ['Media'],
  summary: "A job's file: its headers only",
  description: 'As GET, with no body (errors too: HEAD answers carry none).',
  security: KEY_OR_TOKEN,
  parameters: MEDIA_PARAMS,
  responses: {
    200: answer('The file is there', undefined, MEDIA_HEADERS),
    206: answer('The range asked for', undefined, headers({ 'Content-Range': '`bytes 0-1023/711860`' })),
    302: answer(
      'S3 storage: the file at a fresh presigned URL',
      undefined,
      headers({ Location: 'The presigned GET' }),
    ),
    304: answer('Not modified'),
    401: answer('`unauthorized` (no body)'),
    403: answer('`forbidden`, `token_expired` (no body)'),
    404: answer('`not_found` (no body)'),
  },
})

const LAST_EVENT_ID: Parameter = {
  in: 'header',
  name: 'Last-Event-ID',
  description:
    'Resume after this event id (EventSource sends it when it reconnects): exactly the events missed',
  schema: { type: 'string', pattern: '^\\d{1,20}-\\d{1,20}$' },
  example: '1764590000000-0',
}
const EVENT_STREAM = text(
  'text/event-stream',
  'event: job.progress\nid: 1764590012345-0\ndata: {"type":"job.progress","job_id":"0b3c5f0e-3c1e-4d8a-9a4e-2f1f0c6a9b7d","status":"processing","at":"2026-12-01T12:00:12.345Z","progress":42.5,"eta_seconds":3}\n\n: keep-alive\n\n',
  'Server-sent events: `event:` the type, `id:` the log entry id, `data:` a JobEventData as JSON; a comment line every SSE_KEEPALIVE_MS',
)
const BAD_EVENT_ID: Cases = {
  400: [['bad_request', 'Last-Event-ID must be the id of an event (such as 1700000000000-0)']],
}

export const jobEventsDoc = documentRoute({
  tags: ['Events'],
  summary: "A job's events (SSE)",
  description:
    'From its first event (or after Last-Event-ID), then live; ends after job.completed, job.failed, job.canceled ' +
    'or job.deleted (at once, after the replay, for a job already finished).',
  parameters: [JOB_ID_PARAM, LAST_EVENT_ID],
  responses: {
    200: answer('The event stream', EVENT_STREAM),
    ...errors({ ...BAD_EVENT_ID, ...JOB_NOT_FOUND, ...COMMON }),
  },
})

export const eventsDoc = documentRoute({
  tags: ['Events'],
  summary: 'Every job event the key may see (SSE)',
  description: 'From now (or after Last-Event-ID), live, until the client leaves. Admin keys see every job.',
  parameters: [LAST_EVENT_ID],
  responses: {
    200: answer('The event stream', EVENT_STREAM),
    ...errors({ ...BAD_EVENT_ID, ...COMMON }),
  },
})

export const deliveriesDoc = documentRoute({
  tags: ['Events'],
  summary: "A job's webhook deliveries",
  description:
    "Each attempt, oldest first (the last 100). A plain key sees those at the job's callback_url only; " +
    'admin keys also those at WEBHOOK_URLS, without credentials, query or fragment.',
  parameters: [JOB_ID_PARAM],
  responses: {
    200: answer('The attempts', json(DeliveryListSchema)),
    ...errors({ ...JOB_NOT_FOUND, ...COMMON }),
  },
})

export const statsDoc = documentRoute({
  tags: ['Operations'],
  summary: 'Pipeline statistics',
  description: 'From counters kept by each state change, never a key scan. Admin keys only.',
  responses: {
    200: answer('The counters', json(StatsSchema)),
    ...errors({ ...ADMIN_ONLY, ...COMMON }),
  },
})

export const dlqDoc = documentRoute({
  tags: ['Operations'],
  summary: 'The dead-letter queue',
  description: 'Jobs that failed for good, oldest first, until retried or discarded. Admin keys only.',
  responses: {
    200: answer('A page of entries', json(DlqListSchema)),
    ...errors({
      400: [['bad_request', 'after must be a message_id such as 1700000000000-0']],
      ...ADMIN_ONLY,
      ...COMMON,
    }),
  },
})

export const dlqRetryDoc = documentRoute({
  tags: ['Operations'],
  summary: 'Retry a dead-lettered job',
  description:
    'Queued again with its attempts reset, the entry removed, atomically: retrying it twice answers 404.',
  parameters: [MESSAGE_ID_PARAM],
  responses: {
    202: answer('Queued again', json(DlqRetryResponseSchema)),
    ...errors({ ...ADMIN_ONLY, ...ENTRY_NOT_FOUND, ...BODY_REFUSED, ...COMMON }),
  },
})

export const dlqDeleteDoc = documentRoute({
  tags: ['Operations'],
  summary: 'Discard a dead-letter entry',
  description: 'The job stays failed; the upload kept for a retry is removed.',
  parameters: [MESSAGE_ID_PARAM],
  responses: {
    204: answer('Discarded'),
    ...errors({ ...ADMIN_ONLY, ...ENTRY_NOT_FOUND, ...BODY_REFUSED, ...COMMON }),
  },
})
