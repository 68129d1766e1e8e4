/**
 * tinybench suite for the HTTP side: how fast ingest streams a multipart upload to disk and
 * queues its job, and how fast status answers, against a real redis-server.
 *
 *   npm run bench
 */
import { createApp as createIngest } from '@vpp/ingest'
import {
  closeRedis,
  connectRedis,
  createIngestMetrics,
  createLogger,
  createRegistry,
  JobStore,
  redisKeys,
} from '@vpp/shared'
import { LocalUploadStorage } from '@vpp/shared/node'
import { mp4Bytes, startTestRedis, tempDir } from '@vpp/shared/testing'
import { createApp as createStatus } from '@vpp/status'
import { Bench } from 'tinybench'

const redis = await startTestRedis()
const dir = await tempDir('vpp-bench-')
const logger = createLogger({ service: 'bench', level: 'silent' })
const client = await connectRedis(redis.url, logger)
const store = new JobStore(client, redisKeys(redis.prefix()))
await store.ensureGroup()
const registry = createRegistry('ingest')
const ingest = createIngest({
  store,
  storage: new LocalUploadStorage(dir.path),
  logger,
  registry,
  metrics: createIngestMetrics(registry),
  maxFileSize: 1024 ** 3,
})
const status = createStatus({ store, logger, registry: createRegistry('status') })

const sizes = { '8 MiB': 8 * 1024 ** 2, '64 MiB': 64 * 1024 ** 2 }
const bench = new Bench({ time: 3000, warmupIterations: 2 })
for (const [label, bytes] of Object.entries(sizes)) {
  const blob = new Blob([mp4Bytes(bytes)])
  bench.add(`POST /upload ${label}`, async () => {
    const form = new FormData()
    form.append('file', blob, 'bench.mp4')
    const res = await ingest.request('/upload', { method: 'POST', body: form })
    if (res.status !== 202) throw new Error(`upload answered ${res.status}`)
  })
}
bench.add('GET /stats', async () => {
  const res = await status.request('/stats')
  if (res.status !== 200) throw new Error(`stats answered ${res.status}`)
})

await bench.run()
console.table(bench.table())
for (const task of bench.tasks) {
  const size = Object.entries(sizes).find(([label]) => task.name.endsWith(label))?.[1]
  const result = task.result as { latency?: { mean: number } }
  if (size && result.latency) {
    console.log(`${task.name}: ${(size / 1024 ** 2 / (result.latency.mean / 1000)).toFixed(0)} MiB/s`)
  }
}

await closeRedis(client)
await redis.stop()
await dir.remove()
