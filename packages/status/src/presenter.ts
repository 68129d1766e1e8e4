import type { Job, JobEvent } from '@vpp/shared'
import type { MediaSigner } from './media-token.ts'

/**
 * Where clients fetch an output directly instead of through `/media` (S3: a presigned GET, or the
 * S3_PUBLIC_URL-based URL); undefined: through `/media`.
 */
export type DirectUrl = (jobId: string, name: string) => Promise<string | undefined> | string | undefined

/**
 * The HLS master's name in a job's folder: where a job transcoded in chunks publishes its stream
 * while it grows, and where it stays once completed.
 */
const HLS_MASTER = 'hls/master.m3u8'

/** A job whose HLS stream plays while it is still processing (transcoded in chunks). */
const streaming = (job: Job) => job.status === 'processing' && job.playable_at !== undefined

/**
 * The job as a client sees it: each output's `url` (`direct`'s when it gives one, else under
 * `folder`, the job's `/media/…/{job_id}` URL), and `playback`: once completed the HLS master,
 * the best H.264 MP4, the thumbnail and the storyboard, null for what was not made; while
 * processing with `playable_at`, the HLS master alone (found the same way as an output's URL).
 */
export function withMedia(job: Job, folder: string | undefined, direct?: DirectUrl): Job | Promise<Job> {
  if (!folder || (job.outputs.length === 0 && !streaming(job))) return playback(job, job.outputs)
  const named = job.outputs.map((output) => {
    const at = output.path.lastIndexOf(`/${job.job_id}/`)
    return at < 0 ? undefined : output.path.slice(at + job.job_id.length + 2)
  })
  const master = streaming(job) ? HLS_MASTER : undefined
  // Without `direct` (outputs through `/media`), nothing to wait for: no promise a job.
  if (!direct) {
    return playback(
      withCaptions(job, (name) => `${folder}/${name}`),
      job.outputs.map((output, i) => {
        const name = named[i]
        return name === undefined ? output : { ...output, url: `${folder}/${name}` }
      }),
      master && `${folder}/${master}`,
    )
  }
  const url = async (name: string) => (await direct(job.job_id, name)) ?? `${folder}/${name}`
  return Promise.all([
    withCaptions(job, url),
    Promise.all(
      job.outputs.map(async (output, i) => {
        const name = named[i]
        return name === undefined ? output : { ...output, url: await url(name) }
      }),
    ),
    master && url(master),
  ]).then(([shown, outputs, stream]) => playback(shown, outputs, stream))
}

/** A caption track's WebVTT file in the job's folder. */
const captionFile = (id: string) => `captions/${id}/index.vtt`

/** The job with each caption track's `url` (from `url`, given the file's name); as is without tracks. */
function withCaptions(job: Job, url: (name: string) => string): Job
function withCaptions(job: Job, url: (name: string) => Promise<string>): Promise<Job>
function withCaptions(job: Job, url: (name: string) => string | Promise<string>): Job | Promise<Job> {
  if (!job.captions?.length) return job
  const urls = job.captions.map((track) => url(captionFile(track.caption_id)))
  const captions = (shown: string[]) => ({
    ...job,
    captions: job.captions?.map((track, i) => ({ ...track, url: shown[i] as string })),
  })
  return urls.some((u) => typeof u !== 'string')
    ? Promise.all(urls).then(captions)
    : captions(urls as string[])
}

/**
 * The job with `outputs`, and its `playback`: once completed, from them; while processing, the
 * HLS master's URL `stream` when the job is playable (undefined: none).
 */
function playback(job: Job, outputs: Job['outputs'], stream?: string): Job {
  const url = (profile: string) => outputs.find((o) => o.profile === profile)?.url ?? null
  if (job.status === 'processing' && stream) {
    return { ...job, outputs, playback: { hls: stream, mp4: null, thumbnail: null, storyboard: null } }
  }
  if (job.status !== 'completed') return { ...job, outputs }
  const mp4 = outputs
    .filter((o) => o.codec === 'h264' && o.path.endsWith('.mp4'))
    .sort((a, b) => (b.height ?? 0) * (b.width ?? 0) - (a.height ?? 0) * (a.width ?? 0))[0]
  return {
    ...job,
    outputs,
    playback: {
      hls: url('hls'),
      mp4: mp4?.url ?? null,
      thumbnail: url('thumbnail'),
      storyboard: url('storyboard'),
    },
  }
}

/**
 * Jobs and events as clients see them, everywhere they are sent (status's answers, SSE, webhook
 * bodies): media URLs under PUBLIC_URL's `/media/`, signed when keys are on, or S3's own.
 */
export class Presenter {
  readonly #base: string | undefined

  constructor(
    readonly options: {
      /** Base of the media URLs (PUBLIC_URL); unset: no media URLs of ours. */
      publicUrl?: string
      /** Signed playback (API keys on). */
      signer?: MediaSigner
      directUrl?: DirectUrl
      now?: () => Date
    },
  ) {
    this.#base = options.publicUrl?.replace(/\/+$/, '')
  }

  /** The job's media folder URL, signed when keys are on; undefined without one. */
  async folder(jobId: string): Promise<string | undefined> {
    if (!this.#base) return undefined
    if (!this.options.signer) return `${this.#base}/media/${jobId}`
    const token = await this.options.signer.sign(jobId, (this.options.now ?? (() => new Date()))())
    return `${this.#base}/media/${token}/${jobId}`
  }

  /**
   * A job record as `GET /jobs/{id}` answers it. Unsigned and without `directUrl`, at once (no
   * promise: `GET /jobs` presents 20 a request).
   */
  job(job: Job): Job | Promise<Job> {
    if (!this.#base || !this.options.signer) {
      const folder = this.#base && `${this.#base}/media/${job.job_id}`
      return withMedia(job, folder, this.options.directUrl)
    }
    return this.folder(job.job_id).then((folder) => withMedia(job, folder, this.options.directUrl))
  }

  /**
   * An event's `data` as SSE clients see it: `{ type, job_id, status, at }` and what applies
   * (progress, error, outputs and playback with the media URLs of `GET /jobs/{id}`; on
   * `job.playable`, playback with the HLS master); the owner and webhook target stay inside.
   */
  async event(event: JobEvent): Promise<Record<string, unknown>> {
    const { id: _id, client: _client, callback_url: _callback, outputs, ...data } = event
    if (event.type === 'job.playable') {
      const none: Job['outputs'] = []
      const job = { job_id: event.job_id, status: 'processing', playable_at: event.at, outputs: none } as Job
      return { ...data, playback: (await this.job(job)).playback }
    }
    if (!outputs) return data
    const shown = await this.job({ job_id: event.job_id, status: 'completed', outputs } as Job)
    return { ...data, outputs: shown.outputs, playback: shown.playback }
  }
}
