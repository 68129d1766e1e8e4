import { VppError } from './client-error.ts'
import { type EventsOptions, followEvents, followJobEvents } from './job-events.ts'
import {
  type AnimatedOptions,
  animatedUrl,
  query,
  type ThumbnailOptions,
  thumbnailUrl,
} from './render-urls.ts'
import type {
  CancelResponse,
  Caption,
  CaptionList,
  DlqList,
  Job,
  JobOptions,
  JobPage,
  JobStatus,
  JobStreamEvent,
  OriginalLink,
  RetryResponse,
  Stats,
  UploadResponse,
  WatermarkCreated,
  WatermarkList,
} from './types.ts'
import { tusUpload, type UploadOptions, type UploadProgress, type UploadResult } from './upload.ts'
import type { UploadSource } from './upload-sources.ts'
import { watermarkCalls } from './watermarks.ts'

export interface ClientOptions {
  /** The ingest service, e.g. http://localhost:8000. */
  ingestUrl: string
  /** The status service, e.g. http://localhost:8001. */
  statusUrl: string
  /** Sent as `Authorization: Bearer …` to both, when the pipeline has API keys. */
  apiKey?: string
  /** Another fetch (a test's, one with a proxy); default: the global one. */
  fetch?: typeof fetch
}

export interface VppClient {
  /** A resumable upload (tus) of a file, Blob, bytes or stream; resolves once the job is queued. */
  upload(
    source: UploadSource,
    options?: UploadOptions,
    onProgress?: (progress: UploadProgress) => void,
  ): Promise<UploadResult>
  /** `POST /upload-url`: the transcoder downloads `url`. */
  importUrl(url: string, options?: JobOptions): Promise<UploadResponse>
  /** `POST /watermarks`: a PNG kept for the key (its id for `watermark.image`; `default`: the key's default). */
  addWatermark(png: Blob | Uint8Array, options?: { default?: boolean }): Promise<WatermarkCreated>
  /** `GET /watermarks`: the key's own images, newest first (`default` marks its default). */
  listWatermarks(): Promise<WatermarkList>
  /** `DELETE /watermarks/{id}` (jobs already created keep their copy). */
  deleteWatermark(id: string): Promise<void>
  /** `GET /jobs`, newest first, one page. */
  jobs(query?: { status?: JobStatus; limit?: number; cursor?: string }): Promise<JobPage>
  job(id: string): Promise<Job>
  cancel(id: string): Promise<CancelResponse>
  /** `DELETE /jobs/{id}`: the job, its outputs and its dead letter. */
  delete(id: string): Promise<void>
  /**
   * `GET /jobs/{id}/original`: a short-lived URL to the upload, while it is kept (KEEP_ORIGINALS);
   * a VppError `original_not_kept`, `original_removed` or `job_not_finished` otherwise.
   */
  original(id: string): Promise<OriginalLink>
  /** `GET /dlq`, oldest first (admin keys only, when keys are on). */
  dlq(query?: { limit?: number; after?: string }): Promise<DlqList>
  retryDeadLetter(messageId: string): Promise<RetryResponse>
  discardDeadLetter(messageId: string): Promise<void>
  stats(): Promise<Stats>
  /** `POST /jobs/{id}/captions`: a WebVTT or SRT file as a caption track of a completed job's HLS stream. */
  addCaptions(jobId: string, file: Blob, track: { language: string; label: string }): Promise<Caption>
  /** `GET /jobs/{id}/captions`: the job's caption tracks, each with its URL. */
  listCaptions(jobId: string): Promise<CaptionList>
  deleteCaptions(jobId: string, captionId: string): Promise<void>
  /** The job's events from its first (or after `lastEventId`) to its final one, resumed across dropped connections. */
  events(jobId: string, options?: EventsOptions): AsyncGenerator<JobStreamEvent, void, undefined>
  /**
   * `GET /events`: every job's events the key may see, from now (or after `lastEventId`), for as
   * long as the loop runs, resumed across dropped connections.
   */
  feed(options?: EventsOptions): AsyncGenerator<JobStreamEvent, void, undefined>
  /** The URL of a frame of `job` at `time`, `width` wide, rendered on demand (signed when its record is). */
  thumbnailUrl(job: Job, options?: ThumbnailOptions): string
  /** The URL of an animated WebP preview of `job`, rendered on demand (signed when its record is). */
  animatedUrl(job: Job, options?: AnimatedOptions): string
  /** A media URL's bytes (a render, a rendition), fetched with the key; a VppError on an error answer. */
  media(url: string, signal?: AbortSignal): Promise<Uint8Array>
}

/** `POST /upload-url`'s body: the URL and the job's options, by their API names. */
function importBody(url: string, job: JobOptions) {
  return {
    url,
    profiles: job.profiles,
    metadata: job.metadata,
    callback_url: job.callbackUrl,
    clip: job.clip,
    watermark: job.watermark,
    normalize_audio: job.normalizeAudio,
  }
}

/** The caption routes' methods, over `call` and the URL of a job's tracks. */
function captionCalls(
  call: <T>(url: string, init?: RequestInit) => Promise<T>,
  tracks: (jobId: string) => string,
): Pick<VppClient, 'addCaptions' | 'listCaptions' | 'deleteCaptions'> {
  return {
    addCaptions: (jobId, file, track) => {
      const form = new FormData()
      form.append('file', file, 'captions.vtt')
      form.append('language', track.language)
      form.append('label', track.label)
      return call(tracks(jobId), { method: 'POST', body: form })
    },
    listCaptions: (jobId) => call(tracks(jobId)),
    deleteCaptions: (jobId, captionId) =>
      call(`${tracks(jobId)}/${encodeURIComponent(captionId)}`, { method: 'DELETE' }),
  }
}

/**
 * The one client of the pipeline's API, for the console and the CLI alike: fetch, web streams
 * and tus-js-client only, so it runs in browsers, Node, Bun and Deno. Every method answers the
 * shared zod-inferred types or throws a VppError carrying the server's `{ error, message }`.
 */
export function createClient(options: ClientOptions): VppClient {
  const ingest = options.ingestUrl.replace(/\/+$/, '')
  const status = options.statusUrl.replace(/\/+$/, '')
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis)
  const auth: Record<string, string> = options.apiKey ? { Authorization: `Bearer ${options.apiKey}` } : {}

  const send = async (url: string, init: RequestInit = {}): Promise<Response> => {
    try {
      return await doFetch(url, {
        ...init,
        headers: { ...auth, ...(init.headers as Record<string, string>) },
      })
    } catch (error) {
      if (init.signal?.aborted) throw error
      throw VppError.unreachable(url, error)
    }
  }
  /** The answer's JSON, or its error thrown. */
  const call = async <T>(url: string, init?: RequestInit): Promise<T> => {
    const res = await send(url, init)
    if (!res.ok) throw await VppError.fromResponse(res)
    if (res.status === 204) return undefined as T
    return (await res.json()) as T
  }
  const path = (id: string) => encodeURIComponent(id)
  /** Opens an SSE route, after the last event seen when there is one. */
  const eventStream = (url: string) => (lastEventId: string | undefined, signal: AbortSignal) =>
    send(url, {
      headers: { Accept: 'text/event-stream', ...(lastEventId ? { 'Last-Event-ID': lastEventId } : {}) },
      signal,
    })

  return {
    upload: (source, uploadOptions = {}, onProgress) =>
      tusUpload(source, uploadOptions, `${ingest}/uploads`, auth, onProgress),

    importUrl: (url, job = {}) =>
      call(`${ingest}/upload-url`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          ...(job.idempotencyKey ? { 'Idempotency-Key': job.idempotencyKey } : {}),
        },
        body: JSON.stringify(importBody(url, job)),
      }),

    ...watermarkCalls(ingest, call),

    jobs: (q = {}) => call(`${status}/jobs${query(q)}`),
    job: (id) => call(`${status}/jobs/${path(id)}`),
    cancel: (id) => call(`${status}/jobs/${path(id)}/cancel`, { method: 'POST' }),
    delete: (id) => call(`${status}/jobs/${path(id)}`, { method: 'DELETE' }),
    original: (id) => call(`${status}/jobs/${path(id)}/original`),
    dlq: (q = {}) => call(`${status}/dlq${query(q)}`),
    retryDeadLetter: (id) => call(`${status}/dlq/${path(id)}/retry`, { method: 'POST' }),
    discardDeadLetter: (id) => call(`${status}/dlq/${path(id)}`, { method: 'DELETE' }),
    stats: () => call(`${status}/stats`),
    ...captionCalls(call, (id) => `${status}/jobs/${path(id)}/captions`),

    events: (jobId, eventOptions = {}) =>
      followJobEvents(eventStream(`${status}/jobs/${path(jobId)}/events`), eventOptions),
    feed: (eventOptions = {}) => followEvents(eventStream(`${status}/events`), eventOptions, () => false),

    thumbnailUrl: (job, renderOptions) => thumbnailUrl(job, status, renderOptions),
    animatedUrl: (job, renderOptions) => animatedUrl(job, status, renderOptions),
    media: async (url, signal) => {
      // A signed URL carries its own credential: the key goes only to the status service.
      const res = url.startsWith(`${status}/`) ? await send(url, { signal }) : await doFetch(url, { signal })
      if (!res.ok) throw await VppError.fromResponse(res)
      return new Uint8Array(await res.arrayBuffer())
    },
  }
}
