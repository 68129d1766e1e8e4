import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { PassThrough, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { AppError } from '../api/errors.ts'
import {
  JOB_ASSETS,
  jobAssetName,
  type MediaStorage,
  type OutputFile,
  type PublishedOutput,
  type UploadSink,
} from '../storage/storage.ts'
import { checkAsset, checkId, checkName } from './local-storage.ts'

export interface S3StorageOptions {
  bucket: string
  region: string
  /** An S3-compatible server (MinIO, ...); unset: AWS. */
  endpoint?: string
  /** Path-style URLs (`endpoint/bucket/key`), as MinIO and most S3-compatible servers want. */
  forcePathStyle: boolean
  /** Base of the URLs given to outputs (`<base>/<key>`); default: the endpoint's own URL. */
  publicUrl?: string
  /** Explicit credentials; unset: the AWS SDK's default chain (AWS_* variables, profiles, roles). */
  credentials?: { accessKeyId: string; secretAccessKey: string }
  /** Local scratch space for ffmpeg's input and outputs. */
  scratchDir: string
}

/** The client's settings for `options` (on `endpoint` instead of the configured one, when given). */
export function s3ClientConfig(options: S3StorageOptions, endpoint = options.endpoint): S3ClientConfig {
  const config: S3ClientConfig = {
    region: options.region,
    forcePathStyle: options.forcePathStyle,
    // Checksums only where S3 requires them: the SDK's default sends streamed bodies
    // `aws-chunked` with trailing checksums, which many S3-compatible servers store verbatim.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  }
  if (endpoint) config.endpoint = endpoint
  if (options.credentials) config.credentials = options.credentials
  return config
}

/** Multipart part size: S3's minimum is 5 MiB; two parts in flight bound an upload's memory. */
const PART_SIZE = 8 * 1024 * 1024

const isNotFound = (error: unknown) =>
  (error as { name?: string }).name === 'NotFound' ||
  (error as { name?: string }).name === 'NoSuchKey' ||
  (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404

/**
 * S3 or any S3-compatible store (STORAGE_BACKEND=s3): uploads as `uploads/{id}` (streamed as a
 * multipart upload, visible only once complete), renditions as `outputs/{job_id}/{name}` (one PUT
 * each, so never partial). Ingest and transcoders then share nothing but Redis and the bucket.
 */
export class S3Storage implements MediaStorage {
  readonly backend = 's3'
  readonly client: S3Client

  constructor(readonly options: S3StorageOptions) {
    this.client = new S3Client(s3ClientConfig(options))
  }

  uploadKey(id: string): string {
    return `uploads/${checkId(id)}`
  }

  outputKey(jobId: string, name: string): string {
    return `outputs/${checkId(jobId)}/${checkName(name)}`
  }

  /** Where an object can be fetched from (public only if the bucket policy makes it so). */
  url(key: string): string {
    const { publicUrl, endpoint, bucket, region, forcePathStyle } = this.options
    if (publicUrl) return `${publicUrl.replace(/\/+$/, '')}/${key}`
    if (endpoint) {
      const base = new URL(endpoint)
      return forcePathStyle
        ? `${base.origin}/${bucket}/${key}`
        : `${base.protocol}//${bucket}.${base.host}/${key}`
    }
    return `https://${bucket}.s3.${region}.amazonaws.com/${key}`
  }

  async create(id: string): Promise<UploadSink> {
    const body = new PassThrough({ highWaterMark: 1024 * 1024 })
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.options.bucket, Key: this.uploadKey(id), Body: body },
      partSize: PART_SIZE,
      queueSize: 2,
      leavePartsOnError: false,
    })
    let failure: unknown
    const done = upload.done().catch((error: unknown) => {
      failure = error
      throw error
    })
    done.catch(() => {}) // read through `failure` and commit()
    let committed = false
    return {
      async write(chunk) {
        if (failure) throw failure
        if (!body.write(chunk)) {
          await Promise.race([new Promise((resolve) => body.once('drain', resolve)), done])
        }
      },
      async commit() {
        body.end()
        await done
        committed = true
      },
      abort: async () => {
        if (committed) return this.removeUpload(id)
        body.destroy()
        await upload.abort().catch(() => {})
      },
    }
  }

  async hasUpload(id: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: this.uploadKey(id) }))
      return true
    } catch (error) {
      if (isNotFound(error)) return false
      throw error
    }
  }

  async workDir(jobId: string, task = 'job'): Promise<string> {
    const { scratchDir } = this.options
    await mkdir(scratchDir, { recursive: true })
    const prefix = `job-${checkId(jobId)}-${checkName(task)}-`
    // Left by earlier attempts of this job on this machine that died.
    for (const name of await readdir(scratchDir)) {
      if (name.startsWith(prefix)) await rm(join(scratchDir, name), { recursive: true, force: true })
    }
    return mkdtemp(join(scratchDir, prefix))
  }

  async localUpload(id: string, workDir: string): Promise<string> {
    const path = join(workDir, 'source')
    try {
      const object = await this.client.send(
        new GetObjectCommand({ Bucket: this.options.bucket, Key: this.uploadKey(id) }),
      )
      await pipeline(object.Body as Readable, createWriteStream(path))
    } catch (error) {
      if (isNotFound(error))
        throw new AppError('storage_error', `Upload ${this.uploadKey(id)} is not in the bucket`)
      throw error
    }
    return path
  }

  async publish(jobId: string, files: OutputFile[], signal?: AbortSignal): Promise<PublishedOutput[]> {
    const published: PublishedOutput[] = []
    for (const file of files) {
      // A worker that lost the job mid-publish (its PUTs held up by a partition) stops here.
      signal?.throwIfAborted()
      const key = this.outputKey(jobId, file.name)
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.options.bucket,
          Key: key,
          Body: createReadStream(file.path),
          ContentLength: (await stat(file.path)).size,
          ContentType: file.contentType,
        }),
      )
      // A URL only when the bucket is published (S3_PUBLIC_URL); else status presigns one per read.
      published.push(this.options.publicUrl ? { path: key, url: this.url(key) } : { path: key })
    }
    return published
  }

  pieceKey(jobId: string, name: string): string {
    return `pieces/${checkId(jobId)}/${checkName(name)}`
  }

  async putPiece(jobId: string, name: string, path: string): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.options.bucket,
        Key: this.pieceKey(jobId, name),
        Body: createReadStream(path),
        ContentLength: (await stat(path)).size,
      }),
    )
  }

  async localPiece(jobId: string, name: string, dir: string): Promise<string> {
    const path = join(dir, checkName(name))
    try {
      const object = await this.client.send(
        new GetObjectCommand({ Bucket: this.options.bucket, Key: this.pieceKey(jobId, name) }),
      )
      await pipeline(object.Body as Readable, createWriteStream(path))
    } catch (error) {
      if (isNotFound(error))
        throw new AppError('storage_error', `Piece ${this.pieceKey(jobId, name)} is not in the bucket`)
      throw error
    }
    return path
  }

  async removePieces(jobId: string): Promise<void> {
    await this.#removePrefix(`pieces/${checkId(jobId)}/`)
  }

  async readOutput(jobId: string, name: string): Promise<Uint8Array | null> {
    try {
      const object = await this.client.send(
        new GetObjectCommand({ Bucket: this.options.bucket, Key: this.outputKey(jobId, name) }),
      )
      return object.Body ? await object.Body.transformToByteArray() : null
    } catch (error) {
      if (isNotFound(error)) return null
      throw error
    }
  }

  async removeOutputs(jobId: string): Promise<void> {
    await this.#removePrefix(`outputs/${checkId(jobId)}/`)
  }

  async hasOutput(jobId: string, name: string): Promise<boolean> {
    try {
      await this.client.send(
        new HeadObjectCommand({ Bucket: this.options.bucket, Key: this.outputKey(jobId, name) }),
      )
      return true
    } catch (error) {
      if (isNotFound(error)) return false
      throw error
    }
  }

  async outputSource(jobId: string, name: string, seconds: number): Promise<string> {
    const command = new GetObjectCommand({ Bucket: this.options.bucket, Key: this.outputKey(jobId, name) })
    return getSignedUrl(this.client, command, { expiresIn: seconds })
  }

  async removeOutputFolder(jobId: string, folder: string): Promise<void> {
    await this.#removePrefix(`outputs/${checkId(jobId)}/${checkName(folder)}/`)
  }

  async #removePrefix(prefix: string): Promise<void> {
    for (;;) {
      const listed = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.options.bucket, Prefix: prefix }),
      )
      const keys = (listed.Contents ?? []).flatMap((object) => (object.Key ? [{ Key: object.Key }] : []))
      if (keys.length === 0) return
      await this.client.send(
        new DeleteObjectsCommand({ Bucket: this.options.bucket, Delete: { Objects: keys } }),
      )
    }
  }

  async removeUpload(id: string): Promise<void> {
    const keys = [this.uploadKey(id), ...JOB_ASSETS.map((name) => this.assetKey(jobAssetName(id, name)))]
    const result = await this.client.send(
      new DeleteObjectsCommand({
        Bucket: this.options.bucket,
        Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
      }),
    )
    // A batch delete answers 200 with the keys it could not delete: a failure all the same.
    const failed = result.Errors?.[0]
    if (failed)
      throw new Error(`S3 could not delete ${failed.Key}: ${failed.Code} ${failed.Message ?? ''}`.trim())
  }

  assetKey(name: string): string {
    return `assets/${checkAsset(name)}`
  }

  async putAsset(name: string, bytes: Uint8Array): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.options.bucket, Key: this.assetKey(name), Body: bytes }),
    )
  }

  async readAsset(name: string): Promise<Uint8Array | null> {
    try {
      const object = await this.client.send(
        new GetObjectCommand({ Bucket: this.options.bucket, Key: this.assetKey(name) }),
      )
      return (await object.Body?.transformToByteArray()) ?? null
    } catch (error) {
      if (isNotFound(error)) return null
      throw error
    }
  }

  async removeAsset(name: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: this.assetKey(name) }))
  }

  async localAsset(name: string, dir: string): Promise<string> {
    const bytes = await this.readAsset(name)
    if (!bytes) throw new AppError('storage_error', `Asset ${this.assetKey(name)} is not in the bucket`)
    const path = join(dir, checkAsset(name))
    await writeFile(path, bytes)
    return path
  }

  /** Whether the bucket answers (for /healthz and start-up). */
  async ping(): Promise<void> {
    await this.client
      .send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: '.ping' }))
      .catch((error) => {
        if (!isNotFound(error)) throw error
      })
  }

  close(): void {
    this.client.destroy()
  }
}
