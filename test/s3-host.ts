/**
 * The repo's test S3 server (startTestS3: s3rver, one bucket, files in a temporary directory) as
 * a process of its own, for a test host in a network namespace (test/partition.test.ts):
 *
 *   node --import tsx test/s3-host.ts <address> <port> [bucket]
 *
 * Prints one JSON line `{"msg":"s3 listening","endpoint":…,"env":{…}}` once it answers, and
 * stops (its directory removed) on SIGTERM or SIGINT.
 */
import { startTestS3 } from '@vpp/shared/testing'

const [address = '127.0.0.1', port = '0', bucket = 'videos'] = process.argv.slice(2)
const s3 = await startTestS3(bucket, { address, port: Number(port) })
process.stdout.write(`${JSON.stringify({ msg: 's3 listening', endpoint: s3.endpoint, env: s3.env })}\n`)
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    s3.stop().finally(() => process.exit(0))
  })
}
