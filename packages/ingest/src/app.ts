import { zValidator } from '@hono/zod-validator'
import {
  type AccessEnv,
  AppError,
  addressPolicy,
  apiKeyAuth,
  appErrorOf,
  checkImportUrl,
  checkResolved,
  clientOf,
  corsOrigin,
  createHttpMetrics,
  filenameFromUrl,
  forwardedFor,
  healthzDoc,
  hostOf,
  type IngestMetrics,
  idempotencyScope,
  isIpLiteral,
  isRedisUnavailable,
  type Job,
  type JobSource,
  type JobStore,
  JSON_BODY_LIMIT,
  jobOptions,
  jsonErrorHandler,
  jsonNotFound,
  type Logger,
  metricsAuth,
  metricsDoc,
  metricsResponse,
  mountApiDocs,
  observeRequests,
  PROFILE_NAMES,
  RateLimiter,
  redisHealth,
  requestLimits,
  type UploadResponse,
  type UploadStorage,
  UploadUrlRequestSchema,
  zodMessage,
} from '@vpp/shared'
import { type Context, Hono } from 'hono'
import { cors } from 'hono/cors'
import { HTTPException } from 'hono/http-exception'
import type { Registry } from 'prom-client'
import { INGEST_API, uploadDoc, uploadUrlDoc } from './openapi.ts'
import { fileTooLarge, receiveUpload, uploadTimeout } from './receive-upload.ts'
import { mountTus, type TusStorage } from './tus-uploads.ts'

export interface IngestDeps {
  store: JobStore
  storage: UploadStorage
  logger: Logger
  registry: Registry
  metrics: IngestMetrics
  maxFileSize: number
  /** API keys; empty: no key needed. */
  apiKeys?: readonly string[]
  /** METRICS_TOKEN: the bearer token `/metrics` asks for; unset: open. */
  metricsToken?: string
  /** ADMIN_API_KEYS: keys that also see every job (on status); here they create jobs like any. */
  adminKeys?: readonly string[]
  /** REDIS_MIN_REPLICAS: replicas that must hold a new job's record before its 202. */
  minReplicas?: number
  /** Origins whose pages may upload (CORS_ORIGINS: the console's, an app's); default any. */
  corsOrigins?: readonly string[]
  /** Resumable uploads (tus) at `/uploads`: their storage; unset: no such routes. */
  tus?: TusStorage
  /** Jobs a client may create a minute; 0: no limit. */
  rateLimitPerMinute?: number
  uploadIdleTimeoutMs?: number
  uploadTimeoutMs?: number
  /** Time limit of every request but uploads, body included (REQUEST_TIMEOUT_MS). */
  requestTimeoutMs?: number
  /** URL imports may name private addresses (tests, trusted networks). */
  allowPrivateUrls?: boolean
  /**
   * The addresses a URL import's host name resolves to (a runtime's DNS; tests pass their own);
   * `signal` aborts when the app stops waiting. Unset: host names are checked only when the
   * transcoder connects.
   */
  resolveHost?: (hostname: string, signal?: AbortSignal) => Promise<string[]>
  /** How long a host name may take to resolve before the import is refused (400 invalid_url). */
  resolveTimeoutMs?: number
  /** The peer address of a request (the runtime's conninfo), for per-client rate limits. */
  clientAddress?: (c: Context) => string | undefined
  /**
   * TRUST_PROXY: a reverse proxy is in front, and its X-Forwarded-* headers are believed (tus's
   * Location, the client's address). Off: a client could name any host and address in them.
   */
  trustProxy?: boolean
  /** Clock and id source, replaceable in tests. */
  now?: () => Date
  newId?: () => string
}

/** Job records with an idempotency key, scoped to its client. */
type Enqueue = {
  id: string
  filename: string
  source: JobSource
  url?: string
  idempotency?: string
  options: ReturnType<typeof jobOptions>
  /** The id of the API key creating it (keys on): the job is that key's. */
  owner?: string
}

/** How long a new job's record may take to reach REDIS_MIN_REPLICAS replicas (a healthy one: a round trip). */
const REPLICA_WAIT_MS = 1000

/** Headers a page on another origin reads: tus's (Location, Upload-Offset, ...) and the replay mark. */
const CORS_EXPOSED = [
  'Location',
  'Upload-Offset',
  'Upload-Length',
  'Upload-Expires',
  'Upload-Metadata',
  'Tus-Resumable',
  'Tus-Version',
  'Tus-Extension',
  'Tus-Max-Size',
  'Idempotent-Replayed',
  'Retry-After',
]

/** What `profiles` may name: the profile table. */

/** Room for multipart headers and boundaries on top of the file itself. */
const MULTIPART_OVERHEAD = 64 * 1024

/** A URL import's host name must resolve within this, by default. */
const RESOLVE_TIMEOUT_MS = 3000

/**
 * `POST /upload` and tus's `POST /uploads`, `PATCH /uploads/{id}`: the routes that time their body
 * themselves (UPLOAD_IDLE_TIMEOUT_MS, UPLOAD_TIMEOUT_MS).
 */
export const isUpload = (request: Request): boolean => {
  const path = new URL(request.url).pathname
  return (
    (request.method === 'POST' && (path === '/upload' || path === '/uploads')) ||
    (request.method === 'PATCH' && path.startsWith('/uploads/'))
  )
}

/**
 * The ingest API: uploads and URL imports become jobs on the stream. Builds the app only; a
 * runtime's serve.ts listens.
 */
export function createApp(deps: IngestDeps) {
  const now = deps.now ?? (() => new Date())
  const newId = deps.newId ?? (() => crypto.randomUUID())
  const limiter = new RateLimiter(deps.store.redis, deps.store.keys, deps.rateLimitPerMinute ?? 0)
  const allowed = addressPolicy(deps.allowPrivateUrls ?? false)
  const peer = deps.clientAddress ?? (() => undefined)
  const address = deps.trustProxy ? (c: Context) => forwardedFor(c) ?? peer(c) : peer
  const uploadIdleTimeoutMs = deps.uploadIdleTimeoutMs ?? 30_000
  const uploadTimeoutMs = deps.uploadTimeoutMs ?? 3600_000
  const requestTimeoutMs = deps.requestTimeoutMs ?? 10_000
  const resolveTimeoutMs = deps.resolveTimeoutMs ?? RESOLVE_TIMEOUT_MS

  /** Every route but /upload: a JSON body of a few KB at most, within REQUEST_TIMEOUT_MS. */
  const small = requestLimits({ maxBytes: JSON_BODY_LIMIT, timeoutMs: requestTimeoutMs })
  /**
   * /upload: the file and its multipart framing, declared (a chunked body is counted as it
   * streams, by receiveUpload); the upload's own timeouts cut it first, this backs them up.
   */
  const upload = requestLimits({
    maxBytes: deps.maxFileSize + MULTIPART_OVERHEAD,
    timeoutMs: uploadTimeoutMs + requestTimeoutMs,
    streamed: true,
    tooLarge: fileTooLarge,
    timedOut: () => uploadTimeout(`Upload took longer than ${Math.round(uploadTimeoutMs / 1000)}s`),
  })

  const accepted = (job: Job): UploadResponse => ({
    job_id: job.job_id,
    filename: job.filename,
    status: 'queued',
    message: 'Video uploaded and queued for processing',
    created_at: job.created_at,
  })

  /** Store and queue the job; the first job of an idempotency key instead, when there is one. */
  const enqueue = async (fields: Enqueue): Promise<{ job: Job; created: boolean }> => {
    const at = now().toISOString()
    const job: Job = {
      job_id: fields.id,
      filename: fields.filename,
      source: fields.source,
      source_url: fields.url,
      ...fields.options,
      status: 'queued',
      created_at: at,
      updated_at: at,
      attempts: 0,
      outputs: [],
    }
    const result = await createOnce(deps.store, job, fields.idempotency, fields.owner)
    if (!result.created) {
      const first = await deps.store.get(result.jobId)
      if (first) return { job: first, created: false }
    }
    if (result.created && !(await deps.store.replicated(deps.minReplicas ?? 0, REPLICA_WAIT_MS))) {
      // Not on enough replicas: a failover now could lose it, so it is not accepted at all.
      await deps.store.delete(job.job_id).catch(() => {})
      deps.logger.warn('job not replicated in time; refused', {
        job_id: job.job_id,
        replicas: deps.minReplicas,
      })
      throw new AppError(
        'unavailable',
        `The job could not be confirmed on ${deps.minReplicas} Redis replica(s); nothing was kept: send it again`,
        503,
      )
    }
    deps.metrics.uploads.inc({ status: 'accepted' })
    deps.logger.info('job queued', { job_id: job.job_id, source: job.source, filename: job.filename })
    return { job, created: true }
  }

  /**
   * A URL the pipeline will connect to (an import, a webhook target) must name the public
   * internet (unless URL_IMPORT_ALLOW_PRIVATE): by its form and, when it names a host, by every
   * address that host resolves to now. It is checked again, pinned, at each connection.
   */
  const checkPublic = async (url: string) => {
    const parsed = new URL(url)
    checkImportUrl(parsed, allowed)
    const host = hostOf(parsed)
    if (deps.resolveHost && !isIpLiteral(host)) {
      checkResolved(host, await resolveWithin(deps.resolveHost, host, resolveTimeoutMs), allowed)
    }
  }

  const replay = (c: Context, job: Job) => {
    c.header('Idempotent-Replayed', 'true')
    return c.json(accepted(job), 202)
  }

  /**
   * Before any work: the first job of a repeated Idempotency-Key (returned, nothing read), then the
   * client's rate limit. Returns the key's scope for enqueue, or a response to send as is.
   */
  const admit = async (c: Context<AccessEnv>) => {
    // Per client, as the rate limit counts: the API key's id, else the peer address.
    const scope = idempotencyScope(c, clientOf(c, address))
    if (scope !== undefined) {
      const first = await deps.store.idempotentJob(scope)
      if (first) return { scope, first }
    }
    await limiter.take(clientOf(c, address))
    return { scope, first: undefined }
  }

  const app = new Hono<AccessEnv>()

  app.onError((error, c) => {
    if (c.req.path.startsWith('/upload')) {
      const status = uploadStatus(error)
      deps.metrics.uploads.inc({ status })
      // Not the server's failure: nothing is kept, and the client may try again.
      if (status === 'client_aborted')
        deps.logger.info('upload interrupted by the client', { path: c.req.path })
    }
    return jsonErrorHandler(deps.logger)(error, c)
  })
  app.notFound(jsonNotFound)
  app.use(observeRequests(deps.logger, createHttpMetrics(deps.registry)))
  // Pages on other origins (the console on status, an app) upload from the browser. tus answers
  // its own preflights; its other answers, and every error, get the headers here.
  const apiCors = cors({
    origin: corsOrigin(deps.corsOrigins),
    allowHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key'],
    exposeHeaders: CORS_EXPOSED,
    maxAge: 600,
  })
  app.use((c, next) =>
    c.req.method === 'OPTIONS' && c.req.path.startsWith('/uploads') ? next() : apiCors(c, next),
  )
  // A browser's CORS preflight (OPTIONS) carries no key: tus answers it, and it opens nothing.
  if (deps.apiKeys?.length || deps.adminKeys?.length) {
    app.use(apiKeyAuth(deps.apiKeys ?? [], deps.adminKeys, (c) => c.req.method === 'OPTIONS'))
  }

  app.post('/upload', uploadDoc, upload, async (c) => {
    if (!(c.req.header('content-type') ?? '').toLowerCase().startsWith('multipart/form-data')) {
      throw new AppError('bad_request', 'Expected a multipart/form-data body with a "file" field', 400)
    }
    const { scope, first } = await admit(c)
    if (first) return replay(c, first)
    const id = newId()
    const upload = await receiveUpload(c.req.raw, {
      id,
      maxBytes: deps.maxFileSize,
      storage: deps.storage,
      idleTimeoutMs: uploadIdleTimeoutMs,
      totalTimeoutMs: uploadTimeoutMs,
    })
    try {
      const options = jobOptions(upload.fields, PROFILE_NAMES)
      if (options.callback_url) await checkPublic(options.callback_url)
      const { job, created } = await enqueue({
        id,
        filename: upload.filename,
        source: 'upload',
        idempotency: scope,
        options,
        owner: c.get('apiClient'),
      })
      if (!created) {
        await upload.discard() // the same key's first upload won the race
        return replay(c, job)
      }
      deps.metrics.uploadSize.observe(upload.size)
      return c.json(accepted(job), 202)
    } catch (error) {
      await upload.discard() // not queued, so not kept: the client was told it failed
      throw error
    }
  })

  app.post(
    '/upload-url',
    uploadUrlDoc,
    small,
    zValidator('json', UploadUrlRequestSchema, (result) => {
      if (!result.success) throw new AppError('bad_request', zodMessage(result.error), 400)
    }),
    async (c) => {
      const { url, ...rest } = c.req.valid('json')
      const options = jobOptions(rest, PROFILE_NAMES)
      const { scope, first } = await admit(c)
      if (first) {
        if (first.source_url !== url) {
          throw new AppError(
            'idempotency_key_reused',
            'This Idempotency-Key was used for a different request in the last 24 hours',
            422,
          )
        }
        return replay(c, first)
      }
      // Refused now when it can be told now; the transcoder checks again when it connects.
      await checkPublic(url)
      if (options.callback_url) await checkPublic(options.callback_url)
      const { job, created } = await enqueue({
        id: newId(),
        filename: filenameFromUrl(url),
        source: 'url',
        url,
        idempotency: scope,
        options,
        owner: c.get('apiClient'),
      })
      return created ? c.json(accepted(job), 202) : replay(c, job)
    },
  )

  if (deps.tus) {
    mountTus(
      app,
      deps.tus,
      {
        store: deps.store,
        logger: deps.logger,
        metrics: deps.metrics,
        maxFileSize: deps.maxFileSize,
        newId,
        idleTimeoutMs: uploadIdleTimeoutMs,
        totalTimeoutMs: uploadTimeoutMs,
        clientOf: (c) => clientOf(c, address),
        trustProxy: deps.trustProxy ?? false,
        takeRate: (client) => limiter.take(client),
        corsOrigins: deps.corsOrigins,
        checkPublic,
        enqueue: (fields) => enqueue({ ...fields, source: 'upload' }),
      },
      upload,
    )
  }

  app.get('/healthz', healthzDoc, small, (c) => redisHealth(c, deps.store.client))
  app.get('/metrics', metricsDoc, small, metricsAuth(deps.metricsToken), () => metricsResponse(deps.registry))
  mountApiDocs(app, INGEST_API, small)

  return app
}

/** The `status` label of a refused upload: the error's code (a bounded set). */
function uploadStatus(error: unknown): string {
  const known = appErrorOf(error)
  if (known) return known.code
  if (error instanceof HTTPException) return error.status === 401 ? 'unauthorized' : 'bad_request'
  return 'internal_error'
}

/**
 * The addresses of a URL import's host, or 400 invalid_url when it has none or takes longer than
 * `timeoutMs` to say (the resolver is told to stop then, through the signal).
 */
async function resolveWithin(
  resolve: (hostname: string, signal?: AbortSignal) => Promise<string[]>,
  host: string,
  timeoutMs: number,
): Promise<string[]> {
  const signal = AbortSignal.timeout(timeoutMs)
  let onAbort = () => {}
  const expired = new Promise<never>((_, reject) => {
    onAbort = () =>
      reject(new AppError('invalid_url', `The host ${host} did not resolve within ${timeoutMs / 1000}s`, 400))
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([
      resolve(host, signal).catch((error: unknown) => {
        if (signal.aborted) return expired
        throw new AppError('invalid_url', `The host ${host} could not be resolved`, 400, { cause: error })
      }),
      expired,
    ])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

/**
 * Record a job, retrying briefly while Redis is unreachable. A reply lost after Redis ran the
 * script (connection reset) would otherwise turn a recorded job into a 503 whose file is then
 * deleted; the retry finds the job there ("exists") and treats it as done.
 */
async function createOnce(store: JobStore, job: Job, idempotency: string | undefined, owner?: string) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await store.create(job, idempotency, owner)
    } catch (error) {
      if (attempt > 1 && String(error).includes(`job ${job.job_id} exists`)) return { created: true as const }
      if (!isRedisUnavailable(error) || attempt >= 3) throw error
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt))
    }
  }
}
