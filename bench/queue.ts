/**
 * Queue throughput: no-op jobs through enqueue -> pick up -> acknowledge, on one real
 * redis-server started here, at 1, 10 and 100 concurrent consumers. Side by side in the same run:
 *   - vpp: the pipeline's own path: JobStore.create (Lua: record + XADD), the Transcoder's
 *     XREADGROUP loop, start (Lua: lease) and finish (Lua: record + XACK + XDEL), no-op work;
 *   - bullmq: Queue.add and a Worker with the same concurrency, no-op processor;
 *   - raw stream: bare XADD / XREADGROUP / XACK with the same one-reader loop (the floor).
 * Rounds alternate: each round runs every concurrency and every queue in turn (a fresh consumer,
 * one warm-up batch, one timed batch of `--jobs`). Per cell: the median jobs/s over the rounds,
 * add -> pickup percentiles over every timed job, the redis-server CPU time per job (from INFO cpu
 * around the timed batch: the work each queue makes Redis do) and the commands Redis ran per job
 * (INFO commandstats, the calls inside scripts counted too), and this process's CPU per job
 * (producer and consumer both run here, each on connections of its own). The ratio is the median
 * of each round's vpp / bullmq.
 *
 *   npm run bench:queue -- [--jobs 10000] [--rounds 3] [--concurrency 1,10,100]
 *     [--queues vpp,bullmq,raw] [--output bench/results/queue.json]
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
import { percentile, report, round } from './lib.ts'

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '3' },
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
  constructor(readonly size: number) {}
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
    if (++this.done === this.size) this.#finished()
  }
}

let serial = 0

/** Add JOBS jobs, PRODUCERS at a time, then wait for all of them to complete. */
async function runBatch(batch: Batch, add: (id: string) => Promise<unknown>) {
  let next = 0
  await Promise.all(
    Array.from({ length: PRODUCERS }, async () => {
      while (next < batch.size) {
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
let batch = new Batch(JOBS)

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
    // The producer on a connection of its own, as ingest (another process) has, and as BullMQ's
    // Queue has beside its Worker's: sharing the transcoder's would queue each finish behind the
    // adds in flight.
    const producer = await openJobStore(config, logger)
    return {
      add: (id) => producer.create(queuedJob(id, { filename: 'noop.mp4' })),
      async stop() {
        await transcoder.close()
        await store.client.close()
        await producer.client.close()
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

/** redis-server's CPU time so far (user + system, all threads), in µs. */
async function redisCpuMicros(client: PlainRedisClient): Promise<number> {
  const info = await client.info('cpu')
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN)
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6
}

/** Commands redis-server has run since the last CONFIG RESETSTAT, those inside scripts included. */
async function redisCommands(client: PlainRedisClient): Promise<number> {
  const info = await client.info('commandstats')
  let calls = 0
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (!['info', 'config|resetstat'].includes(match[1] ?? '')) calls += Number(match[2])
  }
  return calls
}

const monitor = (await openJobStore({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'monitor' }, logger))
  .client as PlainRedisClient
const subjects = { vpp, bullmq, raw }
const chosen = (values.queues ?? '').split(',').map((name) => {
  const subject = subjects[name as keyof typeof subjects]
  if (!subject) throw new Error(`--queues ${name}: expected some of ${Object.keys(subjects).join(',')}`)
  return subject
})
const ROUNDS = Number(values.rounds)
/** Per concurrency and queue: each round's jobs/s and Redis µs a job, and every pickup latency. */
const cells = new Map<
  string,
  { rates: number[]; redisMicros: number[]; nodeMicros: number[]; commands: number[]; latencies: number[] }
>()
const cell = (concurrency: number, name: string) => {
  const key = `${concurrency} ${name}`
  const found = cells.get(key) ?? { rates: [], redisMicros: [], nodeMicros: [], commands: [], latencies: [] }
  cells.set(key, found)
  return found
}
const median = (xs: number[]) => percentile(xs, 50)

let run = 0
for (let r = 0; r < ROUNDS; r++) {
  for (const concurrency of CONCURRENCY) {
    for (const subject of chosen) {
      const queue = await subject.start(concurrency, `bench${run++}`)
      batch = new Batch(Math.max(100, Math.round(JOBS / 5)))
      await runBatch(batch, queue.add) // warm-up: connections, scripts loaded, JIT
      batch = new Batch(JOBS)
      await monitor.configResetStat()
      const cpuBefore = await redisCpuMicros(monitor)
      const nodeBefore = process.cpuUsage()
      const started = performance.now()
      await runBatch(batch, queue.add)
      const seconds = (performance.now() - started) / 1000
      const node = process.cpuUsage(nodeBefore)
      const cpu = (await redisCpuMicros(monitor)) - cpuBefore
      const commands = await redisCommands(monitor)
      await queue.stop()
      const measured = cell(concurrency, subject.name)
      measured.rates.push(JOBS / seconds)
      measured.redisMicros.push(cpu / JOBS)
      measured.commands.push(commands / JOBS)
      measured.nodeMicros.push((node.user + node.system) / JOBS)
      measured.latencies.push(...batch.latencies)
      console.log(
        `round ${r + 1}/${ROUNDS} ${concurrency} consumers ${subject.name}: ${Math.round(JOBS / seconds)} jobs/s, redis ${round(cpu / JOBS, 1)} µs/job, ${round(commands / JOBS, 1)} commands/job, node ${round((node.user + node.system) / JOBS, 1)} µs/job`,
      )
    }
  }
}

const rows: Array<Record<string, unknown>> = []
for (const concurrency of CONCURRENCY) {
  for (const subject of chosen) {
    const measured = cell(concurrency, subject.name)
    rows.push({
      concurrency,
      queue: subject.name,
      'jobs/s': Math.round(median(measured.rates)),
      'redis µs/job': round(median(measured.redisMicros), 1),
      'redis commands/job': round(median(measured.commands), 1),
      'node µs/job': round(median(measured.nodeMicros), 1),
      'pickup p50 ms': round(percentile(measured.latencies, 50), 2),
      'pickup p99 ms': round(percentile(measured.latencies, 99), 2),
    })
  }
  const ours = cell(concurrency, vpp.name).rates
  const theirs = cell(concurrency, bullmq.name).rates
  if (ours.length && theirs.length)
    rows.push({
      concurrency,
      queue: 'ratio vpp / bullmq (median of rounds)',
      'jobs/s': round(median(ours.map((rate, i) => rate / (theirs[i] ?? Number.NaN))), 2),
    })
}

await report(
  `Queue: ${JOBS} no-op jobs a batch, ${PRODUCERS} adds in flight, ${ROUNDS} alternating rounds`,
  rows,
  values.output,
  {
    jobs_per_batch: JOBS,
    rounds: ROUNDS,
  },
)
await monitor.close()
await redis.stop()
await dir.remove()
