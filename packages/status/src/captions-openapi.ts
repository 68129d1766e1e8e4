import {
  answer,
  CAPTION_EXAMPLE,
  CaptionFormSchema,
  CaptionListSchema,
  CaptionSchema,
  documentRoute,
  type ErrorCase,
  errors,
  formRequest,
  JOB_EXAMPLE,
  json,
  KEY_ERRORS,
  SERVICE_ERRORS,
  TIMEOUT_ERRORS,
} from '@vpp/shared'
import { type Cases, JOB_ID_PARAM, type Parameter } from './openapi.ts'

/** What status's OpenAPI document says of the caption routes (routes/captions.ts); see openapi.ts. */

const JOB_ID = JOB_EXAMPLE.job_id
const CAPTION_ID = CAPTION_EXAMPLE.caption_id
const CAPTION_ID_PARAM: Parameter = {
  in: 'path',
  name: 'caption_id',
  required: true,
  description: "The track's id (`caption_id`)",
  schema: { type: 'string' },
  example: CAPTION_ID,
}
const COMMON: Cases = { ...KEY_ERRORS, ...TIMEOUT_ERRORS, ...SERVICE_ERRORS }
const NO_FILES: Cases = {
  503: [
    ...(SERVICE_ERRORS[503] ?? []),
    ['captions_unavailable', 'This status service has no media storage to write caption tracks to'],
  ],
}
const BUSY: ErrorCase = ['captions_busy', `Another caption change of job ${JOB_ID} is under way; try again`]
const NOT_COMPLETED: ErrorCase = [
  'job_not_completed',
  `Job ${JOB_ID} is processing: caption tracks are added once it is completed`,
]

export const addCaptionsDoc = documentRoute({
  tags: ['Jobs'],
  summary: 'Add a caption track',
  description:
    'A WebVTT or SRT file (SRT is converted), checked and rewritten as WebVTT: cue times `HH:MM:SS.mmm` (SRT: ' +
    '`,mmm`), each ending after it starts and at most 1 s past the video, at most 5000 cues; cue text with ' +
    "WebVTT's own markup only (`b`, `i`, `u`, `c.class`, `v name`, `lang`, `ruby`, `rt`, timestamps; the " +
    'entities `&amp; &lt; &gt; &nbsp; &lrm; &rlm;`). The track is published as `captions/{caption_id}/index.vtt` ' +
    'with a one-segment playlist, and added to the HLS master as a `SUBTITLES` group. Only for a completed job ' +
    'with an HLS stream.',
  parameters: [JOB_ID_PARAM],
  requestBody: formRequest(CaptionFormSchema),
  responses: {
    201: answer('Added', json(CaptionSchema, CAPTION_EXAMPLE)),
    ...errors({
      400: [
        [
          'invalid_captions',
          'line 12: markup <script> is not allowed (only b, i, u, c, v, lang, ruby, rt and timestamps)',
        ],
        ['bad_request', 'Missing multipart field "file" with the caption file'],
      ],
      404: [['not_found', `Job ${JOB_ID} not found`]],
      409: [
        NOT_COMPLETED,
        [
          'no_hls_stream',
          `Job ${JOB_ID} has no HLS stream (profile hls): caption tracks are listed in its master`,
        ],
        ['caption_limit', `Job ${JOB_ID} has 20 caption tracks already (MAX_CAPTION_TRACKS)`],
        ['caption_exists', `Track ${CAPTION_ID} of job ${JOB_ID} has that label already`],
        BUSY,
      ],
      413: [['payload_too_large', 'The caption file is larger than 1048576 bytes (CAPTIONS_MAX_BYTES)']],
      ...COMMON,
      ...NO_FILES,
    }),
  },
})

export const listCaptionsDoc = documentRoute({
  tags: ['Jobs'],
  summary: "List a job's caption tracks",
  description:
    'Oldest first, each with its WebVTT URL (signed when keys are on). Also on the job as `captions`.',
  parameters: [JOB_ID_PARAM],
  responses: {
    200: answer('The tracks', json(CaptionListSchema)),
    ...errors({ 404: [['not_found', `Job ${JOB_ID} not found`]], ...COMMON }),
  },
})

export const deleteCaptionsDoc = documentRoute({
  tags: ['Jobs'],
  summary: 'Delete a caption track',
  description: 'Off the record and the HLS master, then its files.',
  parameters: [JOB_ID_PARAM, CAPTION_ID_PARAM],
  responses: {
    204: answer('Deleted'),
    ...errors({
      404: [['not_found', `Job ${JOB_ID} has no caption track ${CAPTION_ID}`]],
      409: [NOT_COMPLETED, BUSY],
      413: [['payload_too_large', 'The request body is larger than 1024 bytes']],
      ...COMMON,
      ...NO_FILES,
    }),
  },
})
