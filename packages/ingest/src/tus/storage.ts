import { createWriteStream } from 'node:fs'
import { open, truncate, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { type Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { DeleteObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3'
import { FileStore } from '@tus/file-store'
import { S3Store } from '@tus/s3-store'
import { type DataStore, ERRORS, type Locker, type Upload } from '@tus/utils'
import { diskFull, isNoSpace } from '@vpp/shared'
import { type LocalStorage, type S3Storage, s3ClientConfig } from '@vpp/shared/node'
import { UPLOAD_VOLUME } from '../receive-upload.ts'

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

/** S3 multipart part size of resumable uploads (S3's minimum is 5 MiB), as multipart uploads use. */
const PART_SIZE = 8 * 1024 * 1024

/**
 * `@tus/file-store` with a full disk told apart (its write turns every failure into one 500):
 * a chunk that meets ENOSPC fails with 507 `disk_full` and its bytes are cut off again, so the
 * upload stays where the request found it, to be resumed from its `Upload-Offset` once there is
 * room; a creation that meets it leaves no file behind.
 */
export class LocalTusStore extends FileStore {
  override async create(upload: Upload): Promise<Upload> {
    try {
      return await super.create(upload)
    } catch (error) {
      if (!isNoSpace(error)) throw error
      for (const name of [upload.id, `${upload.id}.json`])
        await unlink(join(this.directory, name)).catch(() => {})
      throw diskFull(UPLOAD_VOLUME, { cause: error })
    }
  }

  override async write(readable: Readable, id: string, offset: number): Promise<number> {
    const path = join(this.directory, id)
    let received = 0
    const count = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        received += chunk.byteLength
        done(null, chunk)
      },
    })
    try {
      await pipeline(readable, count, createWriteStream(path, { flags: 'r+', start: offset }))
    } catch (error) {
      if (!isNoSpace(error)) throw ERRORS.FILE_WRITE_ERROR
      await truncate(path, offset).catch(() => {})
      throw diskFull(UPLOAD_VOLUME, { cause: error })
    }
    return offset + received
  }
}

/**
 * The tus data store over the same place multipart uploads go, so a finished upload is where a
 * transcoder looks for it: `UPLOAD_DIR/{job_id}` (with `@tus/file-store`'s `{job_id}.json` beside
 * it until it is finished), or the object `uploads/{job_id}` (`@tus/s3-store`: an S3 multipart
 * upload, with `.info` and `.part` objects beside it until then).
 */
export function tusStorage(
  storage: LocalStorage | S3Storage,
  options: { expiryMs: number; locker?: Locker },
): TusStorage {
  if (storage.backend === 'local') {
    const directory = storage.dir
    return {
      datastore: new LocalTusStore({ directory, expirationPeriodInMilliseconds: options.expiryMs }),
      storeId: (jobId) => jobId,
      async storedHead(storeId, length) {
        const file = await open(join(directory, storeId), 'r')
        try {
          const head = new Uint8Array(length)
          const { bytesRead } = await file.read(head, 0, length, 0)
          return head.subarray(0, bytesRead)
        } finally {
          await file.close()
        }
      },
      forget: (storeId) => unlink(join(directory, `${storeId}.json`)).catch(() => {}),
      // @tus/file-store does not flush: the finished file is fsynced here.
      async persist(storeId) {
        const file = await open(join(directory, storeId), 'r+')
        try {
          await file.sync()
        } finally {
          await file.close()
        }
      },
      locker: options.locker,
      expiryMs: options.expiryMs,
    }
  }
  const { bucket } = storage.options
  return {
    datastore: new S3Store({
      s3ClientConfig: { ...s3ClientConfig(storage.options), bucket },
      partSize: PART_SIZE,
      expirationPeriodInMilliseconds: options.expiryMs,
      // Expiry by the multipart upload's start (deleteExpired), not object tags, which many
      // S3-compatible servers do not take.
      useTags: false,
    }),
    storeId: (jobId) => storage.uploadKey(jobId),
    async storedHead(storeId, length) {
      // Under S3's 5 MiB part minimum, what came so far waits in the `.part` object.
      const object = await storage.client.send(
        new GetObjectCommand({ Bucket: bucket, Key: `${storeId}.part`, Range: `bytes=0-${length - 1}` }),
      )
      return object.Body ? new Uint8Array(await object.Body.transformToByteArray()) : new Uint8Array()
    },
    forget: async (storeId) => {
      await storage.client
        .send(new DeleteObjectCommand({ Bucket: bucket, Key: `${storeId}.info` }))
        .catch(() => {})
    },
    // A completed multipart upload is stored durably by S3 before it answers.
    persist: async () => {},
    locker: options.locker,
    expiryMs: options.expiryMs,
    // @tus/s3-store holds parts under S3's 5 MiB minimum in the system's temporary directory.
    volume: 'temporary directory (TMPDIR)',
  }
}
