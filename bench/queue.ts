/**
 * Queue throughput: no-op jobs through enqueue -> pick up -> acknowledge, on one real
 * redis-server started here, at 1, 10 and 100 concurrent consumers. Side by side in the same run:
 *   - vpp: the pipeline's own path: JobStore.create (Lua: record + XADD), the Transcoder's
 *     XREADGROUP loop, start (Lua: lease) and finish (Lua: record + XACK + XDEL), no-op work;
 *   - bullmq: Queue.add and a Worker with the same concurrency, no-op processor;
 *   - raw stream: bare XADD / XREADGROUP / XACK with the same one-reader loop (the floor).
 * Each cell: `--jobs` jobs per batch, tinybench iterations of whole batches; jobs/s from the mean
 * batch time, add -> pickup latency percentiles over every job.
 *
 *   npm run bench:queue -- [--jobs 2000] [--iterations 3] [--output bench/results/queue.json]
 */
import { parseArgs } from 'node:util'
import {
  createLogger,
  createRegistry,
  createTranscoderMetrics,
  JobStore,
  openJobStore,
  type PlainRedisClient,
} from '@vpp/shared'
import { LocalStorage, startRedisServer } from '@vpp/shared/node'
import { queuedJob, tempDir } from '@vpp/shared/testing'
import { loadConfig, Transcoder } from '@vpp/transcoder'
import { Queue, Worker } from 'bullmq'
import { Bench } from 'tinybench'
import { percentile, report, round } from './lib.ts'

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '2000' },
    iterations: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '1,10,100' },
    queues: { type: 'string', default: 'vpp,bullmq,raw' },
    output: { type: 'string' },
  },
})
const JOBS = Number(values.jobs)
const CONCURRENCY = (values.concurrency ?? '').split(',').map(Number)
/** Jobs being added at once by the producer (the same for every queue). */
const PRODUCERS = 50

const dir = await tempDir('vpp-bench-queue-')
const redis = await startRedisServer({ dir: dir.path, persistent: false })
const logger = createLogger({ service: 'bench', level: 'silent' })

/** Timing of one batch: when each job was added and picked up, and when the last one finished. */
class Batch {
  added = new Map<string, number>()
  latencies: number[] = []
  done = 0
  #finished!: () => void
  readonly finished = new Promise<void>((resolve) => {
    this.#finished = resolve
  })
  pickedUp(id: string) {
    const at = this.added.get(id)
    if (at !== undefined) this.latencies.push(performance.now() - at)
  }
  completed() {
    if (++this.done === JOBS) this.#finished()
  }
}

let serial = 0

/** Add JOBS jobs, PRODUCERS at a time, then wait for all of them to complete. */
async function runBatch(batch: Batch, add: (id: string) => Promise<unknown>) {
  let next = 0
  await Promise.all(
    Array.from({ length: PRODUCERS }, async () => {
      while (next < JOBS) {
        next++
        const id = `job-${++serial}`
        batch.added.set(id, performance.now())
        await add(id)
      }
    }),
  )
  await batch.finished
}

interface Subject {
  name: string
  start(
    concurrency: number,
    prefix: string,
  ): Promise<{ add: (id: string) => Promise<unknown>; stop(): Promise<void> }>
}
let batch = new Batch()

/** The pipeline's queue: JobStore scripts and the real Transcoder loop, with a no-op job. */
const vpp: Subject = {
  name: 'vpp (JobStore + Transcoder)',
  async start(concurrency, prefix) {
    const env = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix, DATA_DIR: dir.path, LOG_LEVEL: 'silent' }
    const config = loadConfig({
      ...env,
      WORKER_CONCURRENCY: String(concurrency),
      TRANSCODER_METRICS_PORT: '0',
    })
    const opened = await openJobStore(config, logger, { dlqMaxLen: config.DLQ_MAXLEN }) // as startTranscoder does
    // Completion is when the outcome is recorded (finish), as for a real job.
    const store = new (class extends JobStore {
      override async finish(...args: Parameters<JobStore['finish']>) {
        const recorded = await super.finish(...args)
        batch.completed()
        return recorded
      }
      override async finishAndTakeNext(...args: Parameters<JobStore['finishAndTakeNext']>) {
        const reply = await super.finishAndTakeNext(...args)
        batch.completed()
        return reply
      }
    })(opened.client, opened.keys)
    const transcoder = new Transcoder({
      config,
      store,
      // No-op jobs have no files: nothing to remove.
      storage: Object.assign(new LocalStorage(`${dir.path}/up`, `${dir.path}/out`), {
        removeUpload: async () => {},
      }),
      logger,
      metrics: createTranscoderMetrics(createRegistry('bench')),
      process: async (job) => {
        batch.pickedUp(job.job_id)
        return { outputs: [], skipped: [] }
      },
    })
    await transcoder.start()
    return {
      add: (id) => store.create(queuedJob(id, { filename: 'noop.mp4' })),
      async stop() {
        await transcoder.close()
        await store.client.close()
      },
    }
  },
}

const bullmq: Subject = {
  name: 'bullmq (Queue + Worker)',
  async start(concurrency, prefix) {
    const connection = { host: '127.0.0.1', port: redis.port }
    const queue = new Queue(prefix, { connection })
    const worker = new Worker(
      prefix,
      async (job) => {
        batch.pickedUp(job.data.id)
      },
      { connection, concurrency },
    )
    worker.on('completed', () => batch.completed())
    await worker.waitUntilReady()
    return {
      add: (id) => queue.add('noop', { id }),
      async stop() {
        await worker.close()
        await queue.close()
      },
    }
  },
}

/** Bare stream commands with the Transcoder's loop shape: one reader, COUNT = free slots. */
const raw: Subject = {
  name: 'raw stream (XADD/XREADGROUP/XACK)',
  async start(concurrency, prefix) {
    const opened = await openJobStore({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix }, logger)
    // REDIS_URL: one plain connection (the bench never uses sentinels).
    const client = opened.client as PlainRedisClient
    const reader = client.duplicate()
    await reader.connect()
    const stream = `${prefix}:raw`
    await client.xGroupCreate(stream, 'g', '0', { MKSTREAM: true })
    let stopping = false
    let active = 0
    let freed: () => void = () => {}
    const loop = (async () => {
      while (!stopping) {
        if (active >= concurrency) {
          await new Promise<void>((resolve) => {
            freed = resolve
          })
          continue
        }
        const reply = (await reader.xReadGroup(
          'g',
          'c',
          { key: stream, id: '>' },
          { COUNT: concurrency - active, BLOCK: 200 },
        )) as Array<{
          messages: Array<{ id: string; message: Record<string, string> }>
        }> | null
        for (const entry of reply?.[0]?.messages ?? []) {
          active++
          batch.pickedUp(entry.message.id ?? '')
          client.xAck(stream, 'g', entry.id).then(() => {
            active--
            batch.completed()
            freed()
          })
        }
      }
    })()
    return {
      add: (id) => client.xAdd(stream, '*', { id }),
      async stop() {
        stopping = true
        freed()
        await loop
        await reader.close()
        await client.close()
      },
    }
  },
}

const rows: Array<Record<string, unknown>> = []
let run = 0
for (const concurrency of CONCURRENCY) {
  const measured: Record<string, number> = {}
  const subjects = { vpp, bullmq, raw }
  for (const subject of (values.queues ?? '').split(',').map((q) => subjects[q as keyof typeof subjects])) {
    const queue = await subject.start(concurrency, `bench${run++}`)
    const latencies: number[] = []
    const bench = new Bench({
      iterations: Number(values.iterations),
      warmupIterations: 1,
      time: 0,
      warmupTime: 0,
      setup: () => {
        batch = new Batch()
      },
      teardown: () => {
        latencies.push(...batch.latencies)
      },
    })
    bench.add(subject.name, () => runBatch(batch, queue.add))
    await bench.run()
    await queue.stop()
    const result = bench.tasks[0]?.result as { latency?: { mean: number }; error?: unknown }
    if (result.error) throw result.error
    const meanMs = result.latency?.mean ?? Number.NaN
    const jobsPerSecond = JOBS / (meanMs / 1000)
    measured[subject.name] = jobsPerSecond
    rows.push({
      concurrency,
      queue: subject.name,
      'jobs/s': Math.round(jobsPerSecond),
      'pickup p50 ms': round(percentile(latencies, 50), 2),
      'pickup p99 ms': round(percentile(latencies, 99), 2),
    })
  }
  rows.push({
    concurrency,
    queue: 'ratio vpp / bullmq',
    'jobs/s': round((measured[vpp.name] ?? 0) / (measured[bullmq.name] ?? 1), 2),
  })
}

await report(`Queue: ${JOBS} no-op jobs a batch, ${PRODUCERS} adds in flight`, rows, values.output, {
  jobs_per_batch: JOBS,
  iterations: Number(values.iterations),
})
await redis.stop()
await dir.remove()
