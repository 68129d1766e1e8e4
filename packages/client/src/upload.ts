import * as tus from 'tus-js-client'
import { VppError } from './client-error.ts'
import type { JobOptions } from './types.ts'
import { fileReader, type UploadSource } from './upload-sources.ts'

export interface UploadOptions extends JobOptions {
  /** The name the job shows; default: a File's own name. */
  filename?: string
  /** The size in bytes: needed for a web stream, taken from anything else. */
  size?: number
  /** Bytes per PATCH request (default 64 MiB): one chunk at a time is held in memory. */
  chunkSize?: number
  /** Waits before each retry of a failed request, in ms; each one resumes from the offset the server has. */
  retryDelays?: number[]
  signal?: AbortSignal
  /**
   * Where unfinished uploads are remembered so that a later call (another page load, another
   * run of the CLI) resumes one of the same source: a tus-js-client URL storage. Default: none;
   * an upload then resumes only within this call, after a dropped connection.
   */
  urlStorage?: tus.UrlStorage
  /** How a source is recognised in the URL storage; default: tus-js-client's for the runtime. */
  fingerprint?: (source: UploadSource, options: unknown) => Promise<string | null>
  /** Told before each retry of a failed request: which one, and why. */
  onRetry?: (attempt: number, error: Error) => void
  /** Told once the upload has its URL (and so its job id), and where it starts. */
  onStart?: (upload: UploadStart) => void
}

export interface UploadStart {
  /** The job's id: the upload's own. */
  job_id: string
  upload_url: string
  /** The offset a remembered upload continued from; 0 for a new one. */
  resumed_from: number
}

export interface UploadProgress extends UploadStart {
  /** Bytes the server has (resumed_from included). */
  sent: number
  total: number
}

export interface UploadResult extends UploadStart {
  size: number
}

export const DEFAULT_CHUNK_SIZE = 64 * 1024 * 1024
const DEFAULT_RETRY_DELAYS = [0, 1000, 3000, 5000, 10_000]

/**
 * One resumable upload with tus-js-client to ingest's `/uploads`: the job is created when the
 * last byte is stored, with the upload's id. Resolves once it is; rejects with a VppError
 * (the server's `{ error, message }`), or the signal's reason when aborted (the upload is then
 * left to resume, not terminated).
 */
export function tusUpload(
  source: UploadSource,
  options: UploadOptions,
  endpoint: string,
  headers: Record<string, string>,
  onProgress?: (progress: UploadProgress) => void,
): Promise<UploadResult> {
  return new Promise((resolve, reject) => {
    const { signal } = options
    if (signal?.aborted) return reject(signal.reason)
    const state: UploadState = { size: options.size ?? 0 }
    const onAbort = () => {
      upload.abort(false).finally(() => reject(signal?.reason))
    }
    const settle = () => signal?.removeEventListener('abort', onAbort)
    const upload: tus.Upload = new tus.Upload(source as Blob, {
      ...requestOptions(source, options, endpoint, headers, state),
      ...progressCallbacks(() => upload.url, state, options, onProgress),
      onSuccess() {
        settle()
        finish(upload.url ?? '', state, options.urlStorage).then(resolve)
      },
      onError(error) {
        settle()
        reject(toVppError(error, endpoint))
      },
    })
    signal?.addEventListener('abort', onAbort, { once: true })
    begin(upload, state, options.urlStorage).catch((error: unknown) => {
      settle()
      reject(error)
    })
  })
}

/** What an upload learns as it goes, which its callbacks share. */
interface UploadState {
  /** The offset a remembered upload continues from (0 for a new one), once known. */
  resumedFrom?: number
  started?: UploadStart
  size: number
  /** The upload's entry in the URL storage, once it has one. */
  storageKey?: string
}

/** The job id an upload URL ends with: the upload's own. */
const jobIdOf = (url: string) => decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '')

/** The tus metadata of the job's options: its filename and every option, as text. */
function uploadMetadata(source: UploadSource, options: UploadOptions): Record<string, string> {
  const metadata: Record<string, string> = {}
  const filename = options.filename ?? (source as { name?: unknown }).name
  if (typeof filename === 'string' && filename) metadata.filename = filename
  if (options.profiles) metadata.profiles = options.profiles.join(',')
  if (options.metadata) metadata.metadata = JSON.stringify(options.metadata)
  if (options.callbackUrl) metadata.callback_url = options.callbackUrl
  if (options.clip) metadata.clip = JSON.stringify(options.clip)
  if (options.watermark) metadata.watermark = JSON.stringify(options.watermark)
  if (options.normalizeAudio !== undefined) metadata.normalize_audio = String(options.normalizeAudio)
  return metadata
}

/** What tus-js-client sends and where, how it reads the source, remembers it and retries. */
function requestOptions(
  source: UploadSource,
  options: UploadOptions,
  endpoint: string,
  headers: Record<string, string>,
  state: UploadState,
): tus.UploadOptions {
  const storage =
    options.urlStorage &&
    keyTelling(options.urlStorage, (key) => {
      state.storageKey = key
    })
  return {
    endpoint,
    headers: {
      ...headers,
      ...(options.idempotencyKey ? { 'Idempotency-Key': options.idempotencyKey } : {}),
    },
    metadata: uploadMetadata(source, options),
    chunkSize: options.chunkSize ?? DEFAULT_CHUNK_SIZE,
    retryDelays: options.retryDelays ?? DEFAULT_RETRY_DELAYS,
    ...(options.size === undefined ? {} : { uploadSize: options.size }),
    fileReader: fileReader(options.size),
    // Its entry is removed by finish(), before resolving, rather than by tus-js-client's
    // removeFingerprintOnSuccess, which does not wait for it (a CLI exits first).
    ...(storage
      ? { urlStorage: storage, storeFingerprintForResuming: true }
      : { storeFingerprintForResuming: false }),
    ...(options.fingerprint
      ? { fingerprint: options.fingerprint as NonNullable<tus.UploadOptions['fingerprint']> }
      : {}),
    onShouldRetry(error, attempt) {
      // tus-js-client's own rule: not after a 4xx but 409 (offset mismatch) and 423 (locked).
      const status = error.originalResponse?.getStatus() ?? 0
      const retry = status < 400 || status >= 500 || status === 409 || status === 423
      if (retry) options.onRetry?.(attempt + 1, toVppError(error, endpoint))
      return retry
    },
  }
}

/** The callbacks that note where the upload resumed, when it has its URL, and its progress. */
function progressCallbacks(
  url: () => string | null,
  state: UploadState,
  options: UploadOptions,
  onProgress?: (progress: UploadProgress) => void,
): Pick<tus.UploadOptions, 'onAfterResponse' | 'onUploadUrlAvailable' | 'onProgress'> {
  return {
    onAfterResponse(req, res) {
      // The HEAD of a remembered upload, before anything is sent: where it resumes.
      if (state.resumedFrom === undefined && req.getMethod() === 'HEAD' && res.getStatus() === 200) {
        state.resumedFrom = Number(res.getHeader('Upload-Offset') ?? 0)
      }
      if (req.getMethod() === 'POST') state.resumedFrom ??= 0
    },
    onUploadUrlAvailable() {
      const uploadUrl = url()
      if (state.started || !uploadUrl) return
      state.started = {
        job_id: jobIdOf(uploadUrl),
        upload_url: uploadUrl,
        resumed_from: state.resumedFrom ?? 0,
      }
      options.onStart?.(state.started)
    },
    onProgress(sent, total) {
      state.size = total
      if (state.started) onProgress?.({ ...state.started, sent, total })
    },
  }
}

/** Resume the upload the URL storage remembers for this source, if any, and start. */
async function begin(upload: tus.Upload, state: UploadState, urlStorage?: tus.UrlStorage): Promise<void> {
  if (urlStorage) {
    const [previous] = await upload.findPreviousUploads()
    if (previous) {
      state.storageKey = previous.urlStorageKey
      upload.resumeFromPreviousUpload(previous)
    }
  }
  upload.start()
}

/** The finished upload's result, once its entry in the URL storage is gone. */
function finish(url: string, state: UploadState, urlStorage?: tus.UrlStorage): Promise<UploadResult> {
  const done = {
    job_id: jobIdOf(url),
    upload_url: url,
    resumed_from: state.started?.resumed_from ?? 0,
    size: state.size,
  }
  const forget = state.storageKey && urlStorage?.removeUpload(state.storageKey)
  return Promise.resolve(forget).then(
    () => done,
    () => done, // a stale entry is harmless: resuming a finished upload finds it done
  )
}

/** `storage`, telling `onKey` the key of each entry it adds. */
function keyTelling(storage: tus.UrlStorage, onKey: (key: string) => void): tus.UrlStorage {
  return {
    findAllUploads: () => storage.findAllUploads(),
    findUploadsByFingerprint: (fingerprint) => storage.findUploadsByFingerprint(fingerprint),
    removeUpload: (key) => storage.removeUpload(key),
    async addUpload(fingerprint, entry) {
      const key = await storage.addUpload(fingerprint, entry)
      onKey(key)
      return key
    },
  }
}

/**
 * tus-js-client's error as the API's: the response's `{ error, message }`; unreachable for a
 * socket's error (Node's carry a code, ECONNREFUSED and the like); anything else as it is.
 */
function toVppError(error: Error, endpoint: string): Error {
  const detailed = error as tus.DetailedError
  const res = detailed.originalResponse
  if (res) return VppError.fromBody(res.getStatus(), res.getBody())
  const cause = detailed.causingError as (Error & { code?: unknown }) | null | undefined
  if (detailed.originalRequest && typeof cause?.code === 'string')
    return VppError.unreachable(endpoint, cause)
  return error
}
