import { Server } from '@tus/server'
import type { Upload } from '@tus/utils'
import { AppError, corsOrigin, displayName, JOB_ID_PATTERN, type JobOptions } from '@vpp/shared'
import type { IngestContext } from '../context.ts'
import { optionFields } from '../job-options.ts'
import { UPLOAD_VOLUME } from '../receive-upload.ts'
import { copyWatermark, dropWatermark, settleWatermark, watermarkOwner } from '../watermarks.ts'
import { jsonError, tusErrorAnswer } from './answers.ts'
import { sniffing } from './sniffing.ts'
import type { TusStorage } from './storage.ts'

/** What the tus server's hooks know of a request (they see only the Request). */
export interface Caller {
  owner?: string
  client: string
  idempotency?: string
}

/** The callers of the requests in flight, set by the routes before tus handles them. */
export type Callers = WeakMap<Request, Caller>

/** The job id of a data store's upload id (`uploads/{job_id}` on S3, the job id itself locally). */
export const jobIdOf = (storeId: string) => storeId.slice(storeId.lastIndexOf('/') + 1)

/**
 * @tus/server over `storage`, for the routes at `/uploads`: an upload's id is its job's id; its
 * options are checked and recorded at creation (TusRecords), and when its last byte is stored
 * its job is created and queued.
 */
export function createTusServer(ctx: IngestContext, storage: TusStorage, callers: Callers): Server {
  const { deps, tusRecords } = ctx
  const server = new Server({
    path: '/uploads',
    datastore: sniffing(storage),
    maxSize: deps.maxFileSize,
    locker: storage.locker,
    // A request asked to give its lock up (a newer PATCH of the same upload) ends this soon, well
    // inside the lock's lease: old and new never write at once.
    lockDrainTimeout: 1000,
    namingFunction: () => storage.storeId(ctx.newId()),
    generateUrl: (_req, { proto, host, path, id }) => `${proto}://${host}${path}/${jobIdOf(id)}`,
    getFileIdFromRequest: (_req, lastPath) =>
      lastPath && JOB_ID_PATTERN.test(lastPath) ? storage.storeId(lastPath) : undefined,
    respectForwardedHeaders: deps.trustProxy ?? false,
    // Preflights from pages on other origins (tus answers them; app.ts adds CORS to the rest).
    allowedOrigins: corsOrigin(deps.corsOrigins) === '*' ? undefined : [...(deps.corsOrigins ?? [])],
    allowedHeaders: ['Idempotency-Key'],
    async onUploadCreate(req, upload) {
      await recordUpload(ctx, storage, callers.get(req as unknown as Request), upload)
      return {}
    },
    async onUploadFinish(_req, upload) {
      await finishUpload(ctx, storage, upload)
      return {}
    },
    onResponseError: (_req, error) => tusErrorAnswer(storage.volume ?? UPLOAD_VOLUME)(error),
  })
  server.on('POST_TERMINATE', (_req, _res, id: string) => {
    void tusRecords.remove(jobIdOf(id)).catch(() => {})
    // Its watermark's copy too (made when the upload was created).
    void dropWatermark(ctx.deps, jobIdOf(id))
  })
  return server
}

/** A new upload: its options checked (400 as tus's error), then its record and Idempotency-Key kept. */
async function recordUpload(
  ctx: IngestContext,
  storage: TusStorage,
  caller: Caller | undefined,
  upload: Upload,
) {
  const meta = upload.metadata ?? {}
  let options: JobOptions
  try {
    options = optionFields({
      profiles: meta.profiles,
      metadata: meta.metadata,
      callback_url: meta.callback_url,
      clip: meta.clip,
      watermark: meta.watermark,
      normalize_audio: meta.normalize_audio,
    })
    // A stored image (named, or the key's default): copied into the job now, so the upload's
    // last byte never meets an image deleted meanwhile (accepted bytes always become a job).
    options = await settleWatermark(ctx.deps, options, watermarkOwner(caller?.owner))
    if (options.callback_url) await ctx.checkPublic(options.callback_url)
    await copyWatermark(ctx.deps, jobIdOf(upload.id), options)
  } catch (error) {
    const known = error instanceof AppError ? error : new AppError('bad_request', String(error), 400)
    throw jsonError(known.status, known.code, known.message)
  }
  const pending = {
    owner: caller?.owner ?? '',
    filename: displayName(meta.filename ?? meta.name ?? 'upload'),
    options: JSON.stringify(options),
    idempotency: caller?.idempotency ?? '',
  }
  // Kept an hour past the upload's own expiry.
  await ctx.tusRecords.create(jobIdOf(upload.id), pending, Math.ceil(storage.expiryMs / 1000) + 3600)
}

/** The last byte is stored: the job, then the tus bookkeeping goes (the file stays, as the job's upload). */
async function finishUpload(ctx: IngestContext, storage: TusStorage, upload: Upload) {
  const { deps, tusRecords } = ctx
  const jobId = jobIdOf(upload.id)
  const pending = await tusRecords.pending(jobId)
  if (!(await deps.store.exists(jobId))) {
    // Accepted means kept: the bytes reach the disk before the job is queued (as multipart's do).
    await storage.persist(upload.id)
    const options: JobOptions = pending.options ? JSON.parse(pending.options) : {}
    await ctx.enqueue({
      id: jobId,
      filename: pending.filename ?? 'upload',
      source: 'upload',
      options,
      owner: pending.owner || undefined,
    })
    deps.metrics.uploadSize.observe(upload.size ?? upload.offset)
  }
  await storage.forget(upload.id)
  await tusRecords.finished(jobId, upload.size ?? upload.offset)
}
