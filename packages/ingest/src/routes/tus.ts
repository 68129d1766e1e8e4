import type { Server } from '@tus/server'
import { type AccessEnv, AppError, idempotencyScope, JOB_ID_PATTERN } from '@vpp/shared'
import { type Context, Hono } from 'hono'
import type { IngestContext } from '../context.ts'
import {
  tusCreateDoc,
  tusDeleteDoc,
  tusGetDoc,
  tusOffsetDoc,
  tusOptionsDoc,
  tusPatchDoc,
} from '../openapi.ts'
import { emptyFile } from '../receive-upload.ts'
import { ourErrorBody, tusError, uploadStalled, withBody } from '../tus/answers.ts'
import { type Caller, type Callers, createTusServer } from '../tus/server.ts'
import type { TusStorage } from '../tus/storage.ts'
import { timedBody } from '../tus/timed-body.ts'

/**
 * tus 1.0 resumable uploads at `/uploads` (core, creation, creation-with-upload, termination,
 * expiration) through @tus/server's web-standard handler, so every runtime serves it. The upload's
 * id is its job's id: when the last byte is stored, the job is created and queued as a multipart
 * upload's would be, with the same checks first: MAX_FILE_SIZE (413 at creation and on growth),
 * no deferred length, the content sniffed at the start (415, the upload removed), keys and
 * tenancy (another key's upload answers 404), the rate limit and Idempotency-Key on creation, and
 * UPLOAD_IDLE_TIMEOUT_MS / UPLOAD_TIMEOUT_MS per request. Until then `GET /jobs/{id}` answers 404.
 */
export function tusRoutes(ctx: IngestContext, storage: TusStorage) {
  const callers: Callers = new WeakMap()
  const server = createTusServer(ctx, storage, callers)
  const handle = tusHandler(ctx, server, callers)
  const limits = ctx.limits.upload
  const options = (c: Context) => discovery(server, c.req.raw)

  const create = creation(ctx, server, storage, handle)
  const existing = ofAnUpload(ctx, handle)

  // One registration per method, each with its own description. (Hono answers HEAD with the GET
  // route, the same handler: the HEAD one is there for its description.)
  return new Hono<AccessEnv>()
    .options('/uploads', tusOptionsDoc, limits, options)
    .post('/uploads', tusCreateDoc, limits, create)
    .on('HEAD', '/uploads/:id', tusOffsetDoc, limits, existing)
    .patch('/uploads/:id', tusPatchDoc, limits, existing)
    .delete('/uploads/:id', tusDeleteDoc, limits, existing)
    .get('/uploads/:id', tusGetDoc, limits, existing)
    .options('/uploads/:id', tusOptionsDoc, limits, options)
}

/** Creation: ours to check first (no deferred or empty length, Idempotency-Key, rate), then tus's. */
function creation(ctx: IngestContext, server: Server, storage: TusStorage, handle: TusHandler) {
  return async (c: Context<AccessEnv>) => {
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
    const first = idempotency === undefined ? null : await ctx.tusRecords.idempotentUpload(idempotency)
    if (first) {
      return c.body(null, 201, {
        // As tus names a new upload's (the same forwarded headers, or none).
        Location: server.handlers.POST.generateUrl(c.req.raw, storage.storeId(first)),
        'Tus-Resumable': '1.0.0',
        'Idempotent-Replayed': 'true',
      })
    }
    await ctx.takeRate(client)
    return handle(c, { owner: c.get('apiClient'), client, idempotency })
  }
}

/** HEAD, PATCH, DELETE (and GET) of an upload: ours to check first, then tus's. */
function ofAnUpload(ctx: IngestContext, handle: TusHandler) {
  return async (c: Context<AccessEnv>) => {
    const id = c.req.param('id') ?? ''
    if (!JOB_ID_PATTERN.test(id)) throw new AppError('not_found', `No upload ${id}`, 404)
    // Another key's upload is as absent as a missing one.
    const { owner, done, size } = await ctx.tusRecords.state(id)
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
}

/** A tus request, answered by tus with `caller` known to its hooks. */
type TusHandler = (c: Context<AccessEnv>, caller: Caller) => Promise<Response>

/** The tus request, with the caller known to the hooks and its body under the upload timeouts. */
function tusHandler(ctx: IngestContext, server: Server, callers: Callers): TusHandler {
  const { deps, limits } = ctx
  return async (c: Context<AccessEnv>, caller: Caller) => {
    let stopped: 'client_aborted' | 'upload_timeout' | undefined
    const request = timedBody(c.req.raw, limits.uploadIdleTimeoutMs, limits.uploadTimeoutMs, (why) => {
      stopped = why
    })
    callers.set(request, caller)
    const response = await server.handleWeb(request)
    if (stopped) {
      // Not a server error: what came is stored, and the client resumes from Upload-Offset.
      deps.metrics.uploads.inc({ status: stopped })
      deps.logger.info('resumable upload request ended early', { upload: c.req.path, reason: stopped })
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
    const refused = ourErrorBody(text)
    deps.metrics.uploads.inc({ status: refused?.error ?? 'internal_error' })
    if (refused) {
      response.headers.set('Content-Type', 'application/json')
      return response
    }
    // tus's own answers to a request it will not read (no Tus-Resumable: 412; a malformed header:
    // 400) bypass onResponseError: the API's error body instead of its text.
    return withBody(response, tusError(response.status, text))
  }
}

/**
 * tus discovery (and CORS preflight), answered by tus itself; without `creation-defer-length`
 * in `Tus-Extension`, which the data stores offer and these routes refuse.
 */
async function discovery(server: Server, request: Request) {
  const response = await server.handleWeb(request)
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
