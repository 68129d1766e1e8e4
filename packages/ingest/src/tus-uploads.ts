import { type Readable, Transform } from 'node:stream'
import { Server } from '@tus/server'
import type { DataStore, Locker, Upload } from '@tus/utils'
import {
  type AccessEnv,
  AppError,
  ContentCheck,
  corsOrigin,
  diskFull,
  displayName,
  type IngestMetrics,
  idempotencyScope,
  isNoSpace,
  JOB_ID_PATTERN,
  type JobOptions,
  type JobStore,
  jobOptions,
  type Logger,
  PROFILE_NAMES,
  SNIFF_BYTES,
} from '@vpp/shared'
import type { Context, Hono, MiddlewareHandler } from 'hono'
import { tusCreateDoc, tusDeleteDoc, tusGetDoc, tusOffsetDoc, tusOptionsDoc, tusPatchDoc } from './openapi.ts'
import { emptyFile } from './receive-upload.ts'

/** What the tus routes store uploads with: the backend's tus data store, and its bookkeeping. */
export interface TusStorage {
  /** `@tus/file-store` over UPLOAD_DIR, or `@tus/s3-store` on the bucket. */
  datastore: DataStore
  /** The data store's id of job `jobId`'s upload: the job id (local) or `uploads/{job_id}` (S3). */
  storeId(jobId: string): string
  /** The first `length` bytes already stored of upload `storeId` (a resumed start is sniffed whole). */
  storedHead(storeId: string, length: number): Promise<Uint8Array>
  /** Drop the data store's own record of a finished upload (its `.json` / `.info`); the file stays. */
  forget(storeId: string): Promise<void>
  /** Make a finished upload durable before its job exists (fsync a local file; S3 is already). */
  persist(storeId: string): Promise<void>
  /** The lock shared by every replica (Redis); default: in this process only. */
  locker?: Locker
  /** UPLOAD_EXPIRY_HOURS, in ms: an upload not finished by then is removed. */
  expiryMs: number
  /** Where it writes locally, as a `disk_full` message names it (default the upload volume). */
  volume?: string
}

/** What the tus routes share with the rest of ingest. */
export interface TusContext {
  store: JobStore
  logger: Logger
  metrics: IngestMetrics
  maxFileSize: number
  newId: () => string
  idleTimeoutMs: number
  totalTimeoutMs: number
  /** TRUST_PROXY: Location from X-Forwarded-Host/-Proto (or Forwarded); else from Host, as http. */
  trustProxy: boolean
  /** The API key's id or the peer address: what rate limits and idempotency count by. */
  clientOf: (c: Context<AccessEnv>) => string
  /** Count one creation for the client (429 past RATE_LIMIT_PER_MINUTE). */
  takeRate: (client: string) => Promise<void>
  /** A URL must name the public internet (callback_url). */
  checkPublic: (url: string) => Promise<void>
  /** Create and queue the job of a finished upload, as a multipart upload's. */
  enqueue: (fields: { id: string; filename: string; options: JobOptions; owner?: string }) => Promise<unknown>
  /** CORS_ORIGINS: the origins tus's preflight answers allow (unset or `*`: any). */
  corsOrigins?: readonly string[]
}

/** What the tus server's hooks know of a request (they see only the Request). */
interface Caller {
  owner?: string
  client: string
  idempotency?: string
}

/**
 * An upload's bookkeeping in Redis: who owns it and its options until it becomes a job; then
 * `size` (and `done`), so a client that asks again learns it is complete.
 */
interface Pending {
  owner: string
  filename: string
  options: string
  idempotency: string
  done?: string
  size?: string
}

/** How long a finished upload still answers HEAD (as complete). */
const DONE_TTL_SECONDS = 24 * 3600

const jsonError = (status: number, error: string, message: string) => ({
  status_code: status,
  body: JSON.stringify({ error, message }),
})
/** tus's own errors as the API's `{ error, message }`, by status. */
const TUS_CODES: Record<number, string> = {
  400: 'bad_request',
  403: 'forbidden',
  404: 'not_found',
  409: 'upload_offset_mismatch',
  410: 'upload_gone',
  412: 'tus_version_required',
  413: 'file_too_large',
  415: 'invalid_file_type',
  423: 'upload_locked',
  460: 'checksum_mismatch',
}
/** A tus error text as the API's `{ error, message }`. */
const tusError = (status: number, text: string) => ({
  error: TUS_CODES[status] ?? 'internal_error',
  message: text.trim() || 'Upload failed',
})
/** An upload request whose body stopped coming for UPLOAD_IDLE_TIMEOUT_MS, or outlasted UPLOAD_TIMEOUT_MS. */
const uploadStalled = () => new AppError('upload_timeout', 'The upload stalled or took too long', 408)

/** `response` (tus's headers) with the API's JSON error body instead of its own, and `status`. */
function withBody(response: Response, body: { error: string; message: string }, status = response.status) {
  const text = JSON.stringify(body)
  const headers = new Headers(response.headers)
  headers.set('Content-Type', 'application/json')
  headers.set('Content-Length', String(new TextEncoder().encode(text).byteLength))
  return new Response(text, { status, headers })
}

/** An error body that is ours already, or null. */
const parsed = (text: string): { error: string } | null => {
  try {
    const body = JSON.parse(text) as { error?: unknown }
    return typeof body?.error === 'string' ? { error: body.error } : null
  } catch {
    return null
  }
}

/**
 * tus 1.0 resumable uploads at `/uploads` (core, creation, creation-with-upload, termination,
 * expiration) through @tus/server's web-standard handler, so every runtime serves it. The upload's
 * id is its job's id: when the last byte is stored, the job is created and queued as a multipart
 * upload's would be, with the same checks first: MAX_FILE_SIZE (413 at creation and on growth),
 * no deferred length, the content sniffed at the start (415, the upload removed), keys and
 * tenancy (another key's upload answers 404), the rate limit and Idempotency-Key on creation, and
 * UPLOAD_IDLE_TIMEOUT_MS / UPLOAD_TIMEOUT_MS per request. Until then `GET /jobs/{id}` answers 404.
 */
export function mountTus(
  app: Hono<AccessEnv>,
  storage: TusStorage,
  ctx: TusContext,
  limits: MiddlewareHandler,
) {
  const callers = new WeakMap<Request, Caller>()
  const { keys } = ctx.store
  const pendingKey = (jobId: string) => keys.tusUpload(jobId)
  const jobIdOf = (storeId: string) => storeId.slice(storeId.lastIndexOf('/') + 1)
  const ttlSeconds = Math.ceil(storage.expiryMs / 1000) + 3600

  const server = new Server({
    path: '/uploads',
    datastore: sniffing(storage),
    maxSize: ctx.maxFileSize,
    locker: storage.locker,
    // A request asked to give its lock up (a newer PATCH of the same upload) ends this soon, well
    // inside the lock's lease: old and new never write at once.
    lockDrainTimeout: 1000,
    namingFunction: () => storage.storeId(ctx.newId()),
    generateUrl: (_req, { proto, host, path, id }) => `${proto}://${host}${path}/${jobIdOf(id)}`,
    getFileIdFromRequest: (_req, lastPath) =>
      lastPath && JOB_ID_PATTERN.test(lastPath) ? storage.storeId(lastPath) : undefined,
    respectForwardedHeaders: ctx.trustProxy,
    // Preflights from pages on other origins (tus answers them; app.ts adds CORS to the rest).
    allowedOrigins: corsOrigin(ctx.corsOrigins) === '*' ? undefined : [...(ctx.corsOrigins ?? [])],
    allowedHeaders: ['Idempotency-Key'],
    async onUploadCreate(req, upload) {
      const caller = callers.get(req as unknown as Request)
      const meta = upload.metadata ?? {}
      let options: JobOptions
      try {
        options = jobOptions(
          {
            profiles: meta.profiles ?? undefined,
            metadata: meta.metadata ?? undefined,
            callback_url: meta.callback_url ?? undefined,
          },
          PROFILE_NAMES,
        )
        if (options.callback_url) await ctx.checkPublic(options.callback_url)
      } catch (error) {
        const known = error instanceof AppError ? error : new AppError('bad_request', String(error), 400)
        throw jsonError(known.status, known.code, known.message)
      }
      const jobId = jobIdOf(upload.id)
      const pending: Pending = {
        owner: caller?.owner ?? '',
        filename: displayName(meta.filename ?? meta.name ?? 'upload'),
        options: JSON.stringify(options),
        idempotency: caller?.idempotency ?? '',
      }
      const multi = ctx.store.client
        .multi()
        .hSet(pendingKey(jobId), { ...pending })
        .expire(pendingKey(jobId), ttlSeconds)
      if (caller?.idempotency)
        multi.set(keys.idempotency(`tus:${caller.idempotency}`), jobId, { EX: 24 * 3600 })
      await ctx.store.redis.call(multi.exec())
      return {}
    },
    async onUploadFinish(_req, upload) {
      await finish(upload)
      return {}
    },
    onResponseError(_req, error) {
      if (error instanceof AppError) return jsonError(error.status, error.code, error.message)
      // A full disk met by the data store's own writes (S3's part files, an info file).
      if (isNoSpace(error)) {
        const full = diskFull(storage.volume ?? 'upload volume (UPLOAD_DIR)')
        return jsonError(full.status, full.code, full.message)
      }
      const status = 'status_code' in error ? error.status_code : 500
      const body = 'body' in error ? error.body : String(error)
      if (body.startsWith('{')) return { status_code: status, body }
      const { error: code, message } = tusError(status, body)
      return jsonError(status, code, message)
    },
  })
  server.on('POST_TERMINATE', (_req, _res, id: string) => {
    void ctx.store.redis.call(ctx.store.client.del(pendingKey(jobIdOf(id)))).catch(() => {})
  })

  /** The last byte is stored: the job, then the tus bookkeeping goes (the file stays, as the job's upload). */
  const finish = async (upload: Upload) => {
    const jobId = jobIdOf(upload.id)
    const pending = (await ctx.store.redis.call(
      ctx.store.client.hGetAll(pendingKey(jobId)),
    )) as Partial<Pending>
    if (!(await ctx.store.exists(jobId))) {
      // Accepted means kept: the bytes reach the disk before the job is queued (as multipart's do).
      await storage.persist(upload.id)
      await ctx.enqueue({
        id: jobId,
        filename: pending.filename ?? 'upload',
        options: pending.options ? JSON.parse(pending.options) : {},
        owner: pending.owner || undefined,
      })
      ctx.metrics.uploadSize.observe(upload.size ?? upload.offset)
    }
    await storage.forget(upload.id)
    const size = String(upload.size ?? upload.offset)
    await ctx.store.redis.call(
      ctx.store.client
        .multi()
        .hSet(pendingKey(jobId), { done: '1', size })
        .expire(pendingKey(jobId), DONE_TTL_SECONDS)
        .exec(),
    )
  }

  /** The tus request, with the caller known to the hooks and its body under the upload timeouts. */
  const handle = async (c: Context<AccessEnv>, caller: Caller) => {
    let stopped: 'client_aborted' | 'upload_timeout' | undefined
    const request = timedBody(c.req.raw, ctx.idleTimeoutMs, ctx.totalTimeoutMs, (why) => {
      stopped = why
    })
    callers.set(request, caller)
    const response = await server.handleWeb(request)
    if (stopped) {
      // Not a server error: what came is stored, and the client resumes from Upload-Offset.
      ctx.metrics.uploads.inc({ status: stopped })
      ctx.logger.info('resumable upload request ended early', { upload: c.req.path, reason: stopped })
      // tus calls a body that stopped an abort (400 "Request aborted due to lock acquired"): a
      // client still there is told why instead. (One that went away hears nothing.)
      if (stopped === 'upload_timeout' && response.status >= 400) {
        const { code, message, status } = uploadStalled()
        const answer = withBody(response, { error: code, message }, status)
        answer.headers.set('Connection', 'close') // the rest of the body is not read
        return answer
      }
      return response
    }
    if (response.status < 400) return response
    const text = await response.clone().text()
    const refused = parsed(text)
    ctx.metrics.uploads.inc({ status: refused?.error ?? 'internal_error' })
    if (refused) {
      response.headers.set('Content-Type', 'application/json')
      return response
    }
    // tus's own answers to a request it will not read (no Tus-Resumable: 412; a malformed header:
    // 400) bypass onResponseError: the API's error body instead of its text.
    return withBody(response, tusError(response.status, text))
  }

  /**
   * tus discovery (and CORS preflight), answered by tus itself; without `creation-defer-length`
   * in `Tus-Extension`, which the data stores offer and these routes refuse.
   */
  const options = async (c: Context<AccessEnv>) => {
    const response = await server.handleWeb(c.req.raw)
    const extensions = response.headers.get('tus-extension')
    if (extensions) {
      const kept = extensions
        .split(',')
        .map((e) => e.trim())
        .filter((e) => e !== 'creation-defer-length')
      response.headers.set('Tus-Extension', kept.join(','))
    }
    return response
  }
  app.options('/uploads', tusOptionsDoc, limits, options)

  app.post('/uploads', tusCreateDoc, limits, async (c) => {
    if (c.req.header('upload-defer-length') !== undefined) {
      throw new AppError(
        'defer_length_unsupported',
        'Upload-Length is required: a deferred length is not accepted',
        400,
      )
    }
    // tus would finish an empty upload at creation, and so make it a job: refused before anything
    // is counted or stored.
    if (/^0+$/.test(c.req.header('upload-length') ?? '')) throw emptyFile()
    const client = ctx.clientOf(c)
    const idempotency = idempotencyScope(c, client)
    if (idempotency !== undefined) {
      const first = await ctx.store.redis.call(ctx.store.client.get(keys.idempotency(`tus:${idempotency}`)))
      if (first) {
        return c.body(null, 201, {
          // As tus names a new upload's (the same forwarded headers, or none).
          Location: server.handlers.POST.generateUrl(c.req.raw, storage.storeId(first)),
          'Tus-Resumable': '1.0.0',
          'Idempotent-Replayed': 'true',
        })
      }
    }
    await ctx.takeRate(client)
    return handle(c, { owner: c.get('apiClient'), client, idempotency })
  })

  /** HEAD, PATCH, DELETE (and GET) of an upload: ours to check first, then tus's. */
  const existing = async (c: Context<AccessEnv>) => {
    const id = c.req.param('id') ?? ''
    if (!JOB_ID_PATTERN.test(id)) throw new AppError('not_found', `No upload ${id}`, 404)
    // Another key's upload is as absent as a missing one.
    const [owner, done, size] = await ctx.store.redis.call(
      ctx.store.client.hmGet(pendingKey(id), ['owner', 'done', 'size']),
    )
    const viewer = c.get('apiClient')
    if (owner === null || (viewer !== undefined && !c.get('apiAdmin') && owner !== viewer)) {
      throw new AppError('not_found', `No upload ${id}`, 404)
    }
    if (done) {
      // Complete, and a job now: a client resuming it learns so; it is the job's to delete.
      if (c.req.method === 'HEAD') {
        return c.body(null, 200, {
          'Tus-Resumable': '1.0.0',
          'Upload-Offset': size ?? '0',
          'Upload-Length': size ?? '0',
          'Cache-Control': 'no-store',
        })
      }
      throw new AppError('upload_finished', `Upload ${id} is complete and is job ${id} now`, 409)
    }
    return handle(c, { owner: owner || undefined, client: ctx.clientOf(c) })
  }
  // One registration per method, each with its own description. (Hono answers HEAD with the GET
  // route, the same handler: the HEAD one is there for its description.)
  app.on('HEAD', '/uploads/:id', tusOffsetDoc, limits, existing)
  app.patch('/uploads/:id', tusPatchDoc, limits, existing)
  app.delete('/uploads/:id', tusDeleteDoc, limits, existing)
  app.get('/uploads/:id', tusGetDoc, limits, existing)
  app.options('/uploads/:id', tusOptionsDoc, limits, options)

  return { server }
}

/**
 * The data store with the content check in front of its writes: the first SNIFF_BYTES of an
 * upload (stored ones read back when a PATCH resumes inside them) must start like a video
 * container; otherwise the write fails with 415 and the upload is removed.
 */
function sniffing(storage: TusStorage): DataStore {
  const store = storage.datastore
  const write = store.write.bind(store)
  store.write = async (readable, id, offset) => {
    if (offset >= SNIFF_BYTES) return write(readable, id, offset)
    const check = new ContentCheck()
    if (offset > 0) check.push(await storage.storedHead(id, offset))
    let rejected = false
    const checked = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        try {
          for (const part of check.push(chunk)) this.push(part)
          done()
        } catch (error) {
          rejected = true
          done(error as Error)
        }
      },
      flush(done) {
        try {
          for (const part of check.end()) this.push(part)
          done()
        } catch (error) {
          rejected = true
          done(error as Error)
        }
      },
    })
    // The resumed head was stored already: only the new bytes go on.
    let skip = offset
    const fresh = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        if (skip >= chunk.byteLength) {
          skip -= chunk.byteLength
          return done()
        }
        done(null, chunk.subarray(skip))
        skip = 0
      },
    })
    // pipe() forwards no errors: each stage's failure ends the next, so the store's write fails.
    ;(readable as Readable).on('error', (error) => checked.destroy(error))
    checked.on('error', (error) => fresh.destroy(error))
    try {
      return await write((readable as Readable).pipe(checked).pipe(fresh), id, offset)
    } catch (error) {
      if (!rejected) throw error
      await store.remove(id).catch(() => {})
      throw jsonError(
        415,
        'invalid_file_type',
        'Unsupported file type: expected an mp4, mov, avi, mkv or webm video',
      )
    }
  }
  return store
}

/**
 * `request` with its body held to the upload timeouts: nothing for `idleMs` or the whole body
 * past `totalMs` ends it (the tus handler stores what came, and the client resumes). `onAbort`
 * is told when the body stopped early (the client went away, or a timeout).
 */
function timedBody(
  request: Request,
  idleMs: number,
  totalMs: number,
  onAbort: (why: 'client_aborted' | 'upload_timeout') => void,
): Request {
  if (!request.body) return request
  const source = request.body.getReader()
  const started = Date.now()
  let idle: ReturnType<typeof setTimeout> | undefined
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const stop = new Promise<'idle'>((resolve) => {
        idle = setTimeout(
          () => resolve('idle'),
          Math.min(idleMs, Math.max(1, totalMs - (Date.now() - started))),
        )
      })
      try {
        const next = await Promise.race([source.read(), stop])
        if (next === 'idle') {
          onAbort('upload_timeout')
          void source.cancel().catch(() => {})
          controller.error(uploadStalled())
          return
        }
        if (next.done) controller.close()
        else controller.enqueue(next.value)
      } catch (error) {
        onAbort('client_aborted')
        controller.error(error)
      } finally {
        clearTimeout(idle)
      }
    },
    cancel(reason) {
      clearTimeout(idle)
      return source.cancel(reason)
    },
  })
  return new Request(request, { body, duplex: 'half' } as RequestInit)
}
