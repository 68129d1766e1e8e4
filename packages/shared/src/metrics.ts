import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

/** Every metric name of the pipeline, defined once (the seed's names, exactly). */
export const METRIC_NAMES = {
  uploadsTotal: 'video_uploads_total',
  uploadSizeBytes: 'video_upload_size_bytes',
  jobsProcessedTotal: 'video_jobs_processed_total',
  processingDurationSeconds: 'video_processing_duration_seconds',
  activeJobs: 'video_active_jobs',
  queueSize: 'processing_queue_size',
  dlqDepth: 'video_dlq_depth',
  retriesTotal: 'video_job_retries_total',
  recoveredTotal: 'video_jobs_recovered_total',
  ffmpegFailuresTotal: 'video_ffmpeg_failures_total',
  queueWaitSeconds: 'video_queue_wait_seconds',
  retentionExpiredTotal: 'video_retention_expired_total',
  transcoderHealthy: 'video_transcoder_healthy',
  chunksProcessedTotal: 'video_chunks_processed_total',
  chunkDurationSeconds: 'video_chunk_duration_seconds',
  timeToPlayableSeconds: 'video_time_to_playable_seconds',
  httpRequestDurationSeconds: 'http_request_duration_seconds',
} as const

/**
 * Series Prometheus makes itself, which dashboards and alerts may use although no service
 * exports them (`up`: 1 while a scrape target answers).
 */
export const PROMETHEUS_SERIES = ['up'] as const

/** A registry per service, with the default process metrics and a `service` label. */
export function createRegistry(service: string): Registry {
  const registry = new Registry()
  registry.setDefaultLabels({ service })
  collectDefaultMetrics({ register: registry })
  return registry
}

/** `http_request_duration_seconds{method,route,status}`: every service's HTTP requests. */
export function createHttpMetrics(registry: Registry) {
  return {
    /** route: the route pattern (`/jobs/:job_id`), never the path; `unmatched` for 404s. */
    requestDuration: new Histogram({
      name: METRIC_NAMES.httpRequestDurationSeconds,
      help: 'HTTP request duration in seconds, by method, route pattern and status code',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60, 300],
      registers: [registry],
    }),
  }
}
export type HttpMetrics = ReturnType<typeof createHttpMetrics>

/** Serve a registry in the Prometheus text format (fetch API, so any runtime can use it). */
export async function metricsResponse(registry: Registry): Promise<Response> {
  return new Response(await registry.metrics(), { headers: { 'content-type': registry.contentType } })
}

export function createIngestMetrics(registry: Registry) {
  return {
    /** status: `accepted`, or the error code of a refused upload. */
    uploads: new Counter({
      name: METRIC_NAMES.uploadsTotal,
      help: 'Uploads and URL imports received, by status (accepted or error code)',
      labelNames: ['status'] as const,
      registers: [registry],
    }),
    uploadSize: new Histogram({
      name: METRIC_NAMES.uploadSizeBytes,
      help: 'Size of accepted uploads in bytes',
      buckets: [
        2 ** 20,
        5 * 2 ** 20,
        20 * 2 ** 20,
        50 * 2 ** 20,
        100 * 2 ** 20,
        250 * 2 ** 20,
        500 * 2 ** 20,
        2 ** 30,
        2 * 2 ** 30,
      ],
      registers: [registry],
    }),
  }
}
export type IngestMetrics = ReturnType<typeof createIngestMetrics>

// size: one flat table of the transcoder's metric definitions, each a few lines, read top to bottom
export function createTranscoderMetrics(registry: Registry) {
  const metrics = {
    /** status: completed or failed; profile: a profile name, or `all` for the whole job. */
    processed: new Counter({
      name: METRIC_NAMES.jobsProcessedTotal,
      help: 'Jobs and renditions processed, by status and profile (profile="all" counts whole jobs)',
      labelNames: ['status', 'profile'] as const,
      registers: [registry],
    }),
    /** Wall time of the ffmpeg run that produced a profile; profile="all": the whole job. */
    duration: new Histogram({
      name: METRIC_NAMES.processingDurationSeconds,
      help: 'Processing time in seconds, by profile (profile="all" is the whole job)',
      labelNames: ['profile'] as const,
      buckets: [1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600],
      registers: [registry],
    }),
    active: new Gauge({
      name: METRIC_NAMES.activeJobs,
      help: 'Jobs this transcoder is processing now',
      registers: [registry],
    }),
    retries: new Counter({
      name: METRIC_NAMES.retriesTotal,
      help: 'Attempts that failed transiently and were scheduled for a retry',
      registers: [registry],
    }),
    recovered: new Counter({
      name: METRIC_NAMES.recoveredTotal,
      help: 'Stalled jobs taken over from a dead transcoder (XAUTOCLAIM)',
      registers: [registry],
    }),
    /** Enqueue (job created) to its first start by a transcoder. */
    queueWait: new Histogram({
      name: METRIC_NAMES.queueWaitSeconds,
      help: 'Seconds from a job being queued to a transcoder starting it (first attempts)',
      buckets: [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
      registers: [registry],
    }),
    /** kind: `record` (deleted after JOB_RETENTION_DAYS) or `outputs` (removed, job expired). */
    retentionExpired: new Counter({
      name: METRIC_NAMES.retentionExpiredTotal,
      help: 'Jobs whose record (kind="record") or outputs (kind="outputs") retention removed',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    /** reason: exit, timeout, aborted, spawn. */
    ffmpegFailures: new Counter({
      name: METRIC_NAMES.ffmpegFailuresTotal,
      help: 'ffmpeg/ffprobe runs that failed, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    /** 1 while the transcoder takes jobs; 0 while it stands down as sick (its /healthz says why). */
    healthy: new Gauge({
      name: METRIC_NAMES.transcoderHealthy,
      help: 'Whether this transcoder takes jobs (1), or stands down as sick (0): disk full, storage unreachable, ...',
      registers: [registry],
    }),
    /** status: completed, retrying, failed, lost (taken over, or its job stopped). */
    chunks: new Counter({
      name: METRIC_NAMES.chunksProcessedTotal,
      help: 'Chunk work items (a chunk of a video, or its audio) processed, by status',
      labelNames: ['status'] as const,
      registers: [registry],
    }),
    chunkDuration: new Histogram({
      name: METRIC_NAMES.chunkDurationSeconds,
      help: 'Wall time of one chunk work item (its encode, pieces and segments stored), in seconds',
      buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300],
      registers: [registry],
    }),
    /** Upload accepted (job created) to its stream playable (the first chunk of every rung published). */
    timeToPlayable: new Histogram({
      name: METRIC_NAMES.timeToPlayableSeconds,
      help: 'Seconds from a job being created to its HLS stream being playable',
      buckets: [1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600],
      registers: [registry],
    }),
  }
  metrics.healthy.set(1)
  for (const status of ['completed', 'retrying', 'failed', 'lost']) metrics.chunks.inc({ status }, 0)
  // Every reason exported from the start (at 0), so rate() and dashboards see it before the first failure.
  for (const reason of FFMPEG_FAILURE_REASONS) metrics.ffmpegFailures.inc({ reason }, 0)
  for (const kind of ['record', 'outputs']) metrics.retentionExpired.inc({ kind }, 0)
  return metrics
}
export type TranscoderMetrics = ReturnType<typeof createTranscoderMetrics>

/** Why an ffmpeg/ffprobe run failed (ProcessError's reasons). */
export const FFMPEG_FAILURE_REASONS = ['exit', 'timeout', 'aborted', 'spawn'] as const

/** `processing_queue_size` and `video_dlq_depth`, each read from Redis at scrape time. */
export function registerQueueGauges(
  registry: Registry,
  read: { queue: () => Promise<number>; dlq: () => Promise<number> },
): void {
  new Gauge({
    name: METRIC_NAMES.queueSize,
    help: 'Jobs waiting in the stream, not yet taken by a transcoder',
    registers: [registry],
    async collect() {
      this.set(await read.queue())
    },
  })
  new Gauge({
    name: METRIC_NAMES.dlqDepth,
    help: 'Entries in the dead-letter queue',
    registers: [registry],
    async collect() {
      this.set(await read.dlq())
    },
  })
}
