import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import type { Context, MiddlewareHandler } from 'hono'
import { attachment } from '../api/original.ts'
import { bytesResponse } from '../http/byte-range.ts'
import { MEDIA_TYPES } from '../storage/storage.ts'
import { type S3Storage, s3ClientConfig } from './s3-storage.ts'

export interface S3MediaOptions {
  /** Seconds a presigned GET is valid (S3_PRESIGN_SECONDS). */
  presignSeconds: number
  /** The endpoint as clients reach it (S3_PRESIGN_ENDPOINT); default the storage's own. */
  presignEndpoint?: string
}

/** Files that name others by relative URI: served through status so those resolve there too. */
const REFERENCING = new Set(['m3u8', 'vtt'])
const extensionOf = (name: string) => name.split('.').pop() ?? ''

/**
 * Media of the S3 backend, for the status service.
 * - With S3_PUBLIC_URL the bucket is public: every URL is a plain one under it, and the relative
 *   URIs of playlists and cues resolve in the bucket.
 * - Otherwise each output's `url` is a presigned GET (S3_PRESIGN_SECONDS), except playlists and
 *   storyboard cues, whose relative URIs a presigned URL cannot cover: those are fetched through
 *   `/media/…`, where status reads them from the bucket and answers them itself, so the URIs in
 *   them resolve to `/media/…` too, where every other file answers a 302 to a fresh presigned GET.
 */
export class S3Media {
  readonly #presigner: S3Client

  constructor(
    readonly storage: S3Storage,
    readonly options: S3MediaOptions,
  ) {
    // Presigning is local (no request): a client on the public endpoint signs for that host.
    this.#presigner = new S3Client(s3ClientConfig(storage.options, options.presignEndpoint))
  }

  /** A presigned GET of output `name` of job `jobId`. */
  presign(jobId: string, name: string): Promise<string> {
    const command = new GetObjectCommand({
      Bucket: this.storage.options.bucket,
      Key: this.storage.outputKey(jobId, name),
    })
    return getSignedUrl(this.#presigner, command, { expiresIn: this.options.presignSeconds })
  }

  /**
   * A presigned GET of job `jobId`'s upload (`uploads/{id}`, kept with KEEP_ORIGINALS), valid
   * `expiresIn` seconds (ORIGINAL_URL_TTL), saved by a browser as `filename` (cleaned).
   */
  presignUpload(jobId: string, filename: string, expiresIn: number): Promise<string> {
    const command = new GetObjectCommand({
      Bucket: this.storage.options.bucket,
      Key: this.storage.uploadKey(jobId),
      ResponseContentDisposition: attachment(filename),
      ResponseContentType: 'application/octet-stream',
    })
    return getSignedUrl(this.#presigner, command, { expiresIn })
  }

  /** The size of job `jobId`'s upload in the bucket; null when it is not there. */
  async uploadSize(jobId: string): Promise<number | null> {
    const head = await this.storage.client
      .send(
        new HeadObjectCommand({ Bucket: this.storage.options.bucket, Key: this.storage.uploadKey(jobId) }),
      )
      .catch((error: { name?: string }) => {
        if (error.name === 'NotFound' || error.name === 'NoSuchKey') return null
        throw error
      })
    return head ? (head.ContentLength ?? 0) : null
  }

  /** Where a client fetches output `name` directly; undefined: through `/media/…`. */
  directUrl = async (jobId: string, name: string): Promise<string | undefined> => {
    if (this.storage.options.publicUrl) return this.storage.url(this.storage.outputKey(jobId, name))
    return REFERENCING.has(extensionOf(name)) ? undefined : this.presign(jobId, name)
  }

  /**
   * The `/media/…` file server over the bucket, for `file` (`{job_id}/{name}`, checked by the
   * route): playlists and cues answered from the bucket's copy (Range as for local files), anything else a 302 to a
   * presigned GET (a Range header goes along with the redirect). A missing playlist: undefined.
   */
  files(file: (c: Context) => string): MiddlewareHandler {
    return async (c) => {
      const path = file(c)
      const slash = path.indexOf('/')
      const jobId = path.slice(0, slash)
      const name = path.slice(slash + 1)
      const extension = extensionOf(name)
      if (!REFERENCING.has(extension)) {
        c.header('Cache-Control', 'private, no-store')
        return c.redirect(await this.presign(jobId, name), 302)
      }
      const object = await this.storage.client
        .send(
          new GetObjectCommand({
            Bucket: this.storage.options.bucket,
            Key: this.storage.outputKey(jobId, name),
          }),
        )
        .catch((error: { name?: string }) => {
          if (error.name === 'NoSuchKey' || error.name === 'NotFound') return null
          throw error
        })
      if (!object?.Body) return undefined
      const bytes = await object.Body.transformToByteArray()
      c.header('Content-Type', MEDIA_TYPES[extension] ?? 'application/octet-stream')
      c.header('Cache-Control', 'public, max-age=60')
      if (object.ETag) c.header('ETag', object.ETag)
      return c.req.method === 'HEAD' ? c.body(null, 200) : bytesResponse(c, new Uint8Array(bytes))
    }
  }

  close(): void {
    this.#presigner.destroy()
  }
}
