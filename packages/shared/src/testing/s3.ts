import { createHash } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import S3rver from 's3rver'
import { S3Storage } from '../node/s3-storage.ts'

export interface TestS3 {
  /** `http://<address>:<port>` (127.0.0.1 unless told otherwise) */
  endpoint: string
  bucket: string
  /** The variables that point a service at this server (STORAGE_BACKEND=s3 and friends). */
  env: Record<string, string>
  /** An S3Storage on this server's bucket, with its scratch space in `scratchDir`. */
  storage(scratchDir: string): S3Storage
  /** Stop the server (safe to call twice). */
  stop(): Promise<void>
}

/**
 * A real S3-compatible server (s3rver) on a free loopback port, with one bucket, its files in a
 * temporary directory removed on stop. `listen` puts it on another address or a fixed port (a
 * test host in a network namespace: test/s3-host.ts).
 */
export async function startTestS3(
  bucket = 'videos',
  listen: { address?: string; port?: number } = {},
): Promise<TestS3> {
  const address = listen.address ?? '127.0.0.1'
  const directory = await mkdtemp(join(tmpdir(), 'vpp-s3-'))
  const server = new S3rver({
    address,
    port: listen.port ?? 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  })
  // s3rver has no ListParts (GET {key}?uploadId=…), which resumable uploads (@tus/s3-store) read
  // their offset from: answered here from the parts s3rver stored, before its own routes.
  server.middleware.unshift(listParts(server))
  const { port } = await server.run()
  const endpoint = `http://${address}:${port}`
  // s3rver accepts any signature made with its fixed key pair.
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }
  let stopped = false
  return {
    endpoint,
    bucket,
    env: {
      STORAGE_BACKEND: 's3',
      S3_ENDPOINT: endpoint,
      S3_BUCKET: bucket,
      S3_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    },
    storage: (scratchDir) =>
      new S3Storage({ bucket, region: 'us-east-1', endpoint, forcePathStyle: true, credentials, scratchDir }),
    async stop() {
      if (stopped) return
      stopped = true
      await server.close()
      await rm(directory, { recursive: true, force: true })
    },
  }
}

/** ListParts over s3rver's own store of multipart parts (`{bucket}/._S3rver_uploads/{uploadId}/{n}`). */
function listParts(server: S3rver) {
  return async (
    ctx: {
      method: string
      path: string
      query: Record<string, string | undefined>
      type: string
      body: unknown
    },
    next: () => Promise<void>,
  ) => {
    const uploadId = ctx.query.uploadId
    if (ctx.method !== 'GET' || !uploadId) return next()
    const [, bucket = '', ...key] = decodeURIComponent(ctx.path).split('/')
    const dir = server.store.getResourcePath(bucket, undefined, 'uploads')
    const numbers = (await readdir(join(dir, uploadId)))
      .filter((name) => /^\d+$/.test(name))
      .map(Number)
      .sort((a, b) => a - b)
    const parts = await Promise.all(
      numbers.map(async (n) => {
        const bytes = await readFile(join(dir, uploadId, String(n)))
        const etag = createHash('md5').update(bytes).digest('hex')
        return `<Part><PartNumber>${n}</PartNumber><ETag>"${etag}"</ETag><Size>${bytes.length}</Size></Part>`
      }),
    )
    ctx.type = 'application/xml'
    ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<ListPartsResult><Bucket>${bucket}</Bucket><Key>${key.join('/')}</Key><UploadId>${uploadId}</UploadId><IsTruncated>false</IsTruncated>${parts.join('')}</ListPartsResult>`
  }
}
