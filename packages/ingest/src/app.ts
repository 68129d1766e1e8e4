import { zValidator } from '@hono/zod-validator'
import {
  AppError,
  filenameFromUrl,
  type IngestMetrics,
  isRedisUnavailable,
  type Job,
  type JobSource,
  type JobStore,
  jsonErrorHandler,
  jsonNotFound,
  type Logger,
  metricsResponse,
  redisHealth,
  type UploadResponse,
  type UploadStorage,
  UploadUrlRequestSchema,
  zodMessage,
} from '@vpp/shared'
import { Hono } from 'hono'
import type { Registry } from 'prom-client'
import { fileTooLarge, receiveUpload } from './receive-upload.ts'

export interface IngestDeps {
  store: JobStore
  storage: UploadStorage
  logger: Logger
  registry: Registry
  metrics: IngestMetrics
  maxFileSize: number
  /** Clock and id source, replaceable in tests. */
  now?: () => Date
  newId?: () => string
}

/**
 * Record a job, retrying briefly while Redis is unreachable. A reply lost after Redis ran the
 * script (connection reset) would otherwise turn a recorded job into a 503 whose file is then
 * deleted; the retry finds the job there ("exists") and treats it as done.
 */
async function createOnce(store: JobStore, job: Job): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await store.create(job)
    } catch (error) {
      if (attempt > 1 && String(error).includes(`job ${job.job_id} exists`)) return
      if (!isRedisUnavailable(error) || attempt >= 3) throw error
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt))
    }
  }
}

/** Room for multipart headers and boundaries on top of the file itself. */
const MULTIPART_OVERHEAD = 64 * 1024

/**
 * The ingest API: uploads and URL imports become jobs on the stream. Builds the app only; a
 * runtime's serve.ts listens.
 */
export function createApp(deps: IngestDeps) {
  const now = deps.now ?? (() => new Date())
  const newId = deps.newId ?? (() => crypto.randomUUID())

  const enqueue = async (fields: { id: string; filename: string; source: JobSource; url?: string }) => {
    const at = now().toISOString()
    const job: Job = {
      job_id: fields.id,
      filename: fields.filename,
      source: fields.source,
      source_url: fields.url,
      status: 'queued',
      created_at: at,
      updated_at: at,
      attempts: 0,
      outputs: [],
    }
    await createOnce(deps.store, job)
    deps.metrics.uploads.inc({ status: 'accepted' })
    deps.logger.info('job queued', { job_id: job.job_id, source: job.source, filename: job.filename })
    const body: UploadResponse = {
      job_id: job.job_id,
      filename: job.filename,
      status: 'queued',
      message: 'Video uploaded and queued for processing',
      created_at: job.created_at,
    }
    return body
  }

  const app = new Hono()

  app.onError((error, c) => {
    if (c.req.path.startsWith('/upload')) {
      deps.metrics.uploads.inc({ status: error instanceof AppError ? error.code : 'internal_error' })
    }
    return jsonErrorHandler(deps.logger)(error, c)
  })
  app.notFound(jsonNotFound)

  app.post('/upload', async (c) => {
    const declared = Number(c.req.header('content-length') ?? Number.NaN)
    if (declared > deps.maxFileSize + MULTIPART_OVERHEAD) throw fileTooLarge()
    if (!(c.req.header('content-type') ?? '').toLowerCase().startsWith('multipart/form-data')) {
      throw new AppError('bad_request', 'Expected a multipart/form-data body with a "file" field', 400)
    }
    const id = newId()
    const upload = await receiveUpload(c.req.raw, { id, maxBytes: deps.maxFileSize, storage: deps.storage })
    try {
      const body = await enqueue({ id, filename: upload.filename, source: 'upload' })
      deps.metrics.uploadSize.observe(upload.size)
      return c.json(body, 202)
    } catch (error) {
      await upload.discard() // not queued, so not kept: the client was told it failed
      throw error
    }
  })

  app.post(
    '/upload-url',
    zValidator('json', UploadUrlRequestSchema, (result) => {
      if (!result.success) throw new AppError('bad_request', zodMessage(result.error), 400)
    }),
    async (c) => {
      const { url } = c.req.valid('json')
      return c.json(await enqueue({ id: newId(), filename: filenameFromUrl(url), source: 'url', url }), 202)
    },
  )

  app.get('/healthz', (c) => redisHealth(c, deps.store.client))
  app.get('/metrics', () => metricsResponse(deps.registry))

  return app
}
