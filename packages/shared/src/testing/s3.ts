import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import S3rver from 's3rver'
import { S3Storage } from '../node/s3-storage.ts'

export interface TestS3 {
  /** `http://127.0.0.1:<port>` */
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
 * temporary directory removed on stop.
 */
export async function startTestS3(bucket = 'videos'): Promise<TestS3> {
  const directory = await mkdtemp(join(tmpdir(), 'vpp-s3-'))
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  })
  const { port } = await server.run()
  const endpoint = `http://127.0.0.1:${port}`
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
