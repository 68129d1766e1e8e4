/**
 * One example of each API body, as docs/api.md shows them. The zod schemas of job.ts carry them
 * (`.meta({ examples })`), so the OpenAPI document shows them. They are plain data (typing them
 * as the schemas' types would make each schema's type depend on itself): the OpenAPI tests check
 * each against its schema, with zod and with the document's JSON Schema.
 */

const JOB_ID = '0b3c5f0e-3c1e-4d8a-9a4e-2f1f0c6a9b7d'
const MEDIA = `http://localhost:8001/media/${JOB_ID}`
const OUTPUT_DIR = `/srv/data/output/${JOB_ID}`

export const UPLOAD_URL_REQUEST_EXAMPLE = {
  url: 'https://example.com/video.mp4',
  profiles: ['720p', 'hls', 'thumbnail'],
  metadata: { user: 'u-1' },
  callback_url: 'https://app.example/hooks/video',
}

export const UPLOAD_RESPONSE_EXAMPLE = {
  job_id: JOB_ID,
  filename: 'video.mp4',
  status: 'queued',
  message: 'Video uploaded and queued for processing',
  created_at: '2026-11-25T20:54:27.073Z',
}

export const OUTPUT_EXAMPLE = {
  profile: '720p',
  path: `${OUTPUT_DIR}/720p.mp4`,
  url: `${MEDIA}/720p.mp4`,
  width: 1280,
  height: 720,
  duration: 2.021,
  size_bytes: 711860,
  bitrate: 2817000,
  codec: 'h264',
  ssim: 0.9871,
}

export const JOB_EXAMPLE = {
  job_id: JOB_ID,
  filename: 'video.mp4',
  source: 'upload',
  status: 'completed',
  profiles: ['720p', 'hls', 'thumbnail'],
  metadata: { user: 'u-1' },
  created_at: '2026-11-25T20:54:27.073Z',
  updated_at: '2026-11-25T20:54:32.921Z',
  attempts: 1,
  progress: 100,
  outputs: [
    OUTPUT_EXAMPLE,
    {
      profile: 'hls',
      path: `${OUTPUT_DIR}/hls/master.m3u8`,
      url: `${MEDIA}/hls/master.m3u8`,
      width: 1280,
      height: 720,
      duration: 2.0,
      size_bytes: 1401223,
      bitrate: 2712000,
      codec: 'hls',
      variants: [{ profile: '720p', width: 1280, height: 720, bandwidth: 2905112 }],
    },
    {
      profile: 'thumbnail',
      path: `${OUTPUT_DIR}/thumbnail.jpg`,
      url: `${MEDIA}/thumbnail.jpg`,
      width: 320,
      height: 180,
      duration: null,
      size_bytes: 6923,
      bitrate: null,
      codec: 'mjpeg',
    },
  ],
  skipped: [],
  playback: {
    hls: `${MEDIA}/hls/master.m3u8`,
    mp4: `${MEDIA}/720p.mp4`,
    thumbnail: `${MEDIA}/thumbnail.jpg`,
    storyboard: null,
  },
}

/** The same job while it transcodes in chunks, once its HLS stream is playable. */
export const PLAYABLE_JOB_EXAMPLE = {
  job_id: JOB_ID,
  filename: 'video.mp4',
  source: 'upload',
  status: 'processing',
  profiles: ['720p', 'hls', 'thumbnail'],
  metadata: { user: 'u-1' },
  created_at: '2026-11-25T20:54:27.073Z',
  updated_at: '2026-11-25T20:54:27.412Z',
  attempts: 1,
  progress: 38.5,
  eta_seconds: 3,
  playable_at: '2026-11-25T20:54:29.118Z',
  outputs: [],
  playback: {
    hls: `${MEDIA}/hls/master.m3u8`,
    mp4: null,
    thumbnail: null,
    storyboard: null,
  },
}

export const STATS_EXAMPLE = {
  queue_depth: 5,
  dlq_depth: 0,
  total_jobs: 100,
  jobs_by_status: { completed: 95, failed: 2, processing: 3 },
  processing_rate_per_minute: 2.5,
}

export const DLQ_ENTRY_EXAMPLE = {
  message_id: '1764104067123-0',
  job_id: JOB_ID,
  filename: 'holiday.mp4',
  error: 'Input is not a readable video file (input: Invalid data found when processing input)',
  attempts: 1,
  failed_at: '2026-11-25T21:01:07.123Z',
}

export const DLQ_LIST_EXAMPLE = { total: 1, entries: [DLQ_ENTRY_EXAMPLE] }

export const ERROR_BODY_EXAMPLE = {
  error: 'not_found',
  message: `Job ${JOB_ID} not found`,
}
