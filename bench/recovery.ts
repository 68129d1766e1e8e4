/**
 * Recovery: SIGKILL a transcoder while it holds a job, and time until another transcoder starts
 * that job again (XAUTOCLAIM after CLAIM_IDLE_MS of silence). Real child processes, real ffmpeg,
 * real redis-server. The bound: the entry must sit idle for CLAIM_IDLE_MS (counted from the dead
 * worker's last heartbeat, every CLAIM_IDLE_MS/3) and the survivor looks every CLAIM_IDLE_MS/2.
 *
 *   npm run bench:recovery -- [--claim-idle-ms 2000,5000] [--trials 3] [--output bench/results/recovery.json]
 */
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { makeClip, startTestRedis, tempDir } from '@vpp/shared/testing'
import { startPipeline } from '../test/harness.ts'
import { percentile, report, round, sleep } from './lib.ts'

const { values } = parseArgs({
  options: {
    'claim-idle-ms': { type: 'string', default: '2000,5000' },
    trials: { type: 'string', default: '3' },
    output: { type: 'string' },
  },
})
const redis = await startTestRedis()
const dir = await tempDir('vpp-bench-recovery-')
const clip = await makeClip(join(dir.path, 'long.mp4'), {
  width: 1280,
  height: 720,
  seconds: 20,
  audio: true,
})
const rows: Array<Record<string, unknown>> = []

for (const claimIdleMs of (values['claim-idle-ms'] ?? '').split(',').map(Number)) {
  const samples: number[] = []
  for (let trial = 0; trial < Number(values.trials); trial++) {
    const pipeline = await startPipeline(redis, join(dir.path, `p-${claimIdleMs}-${trial}`), {
      CLAIM_IDLE_MS: String(claimIdleMs),
      WORKER_CONCURRENCY: '1',
      TRANSCODE_PROFILES: '720p,480p,360p',
    })
    try {
      const first = pipeline.childTranscoder({ CONSUMER_NAME: 'first' })
      const id = await pipeline.upload(clip)
      // Wait until the first transcoder holds it, and has run a little.
      for (;;) {
        const job = await pipeline.store.get(id)
        if (job?.status === 'processing') break
        await sleep(20)
      }
      const second = pipeline.childTranscoder({ CONSUMER_NAME: 'second' })
      await sleep(1000)
      await first.kill('SIGKILL')
      const killedAt = performance.now()
      for (;;) {
        const job = await pipeline.store.get(id)
        if (job?.status === 'processing' && job.attempts === 2) break
        if (performance.now() - killedAt > claimIdleMs * 5 + 10_000)
          throw new Error(`not recovered: ${second.stderr()}`)
        await sleep(10)
      }
      samples.push(performance.now() - killedAt)
    } finally {
      await pipeline.close()
    }
  }
  rows.push({
    CLAIM_IDLE_MS: claimIdleMs,
    'bound ms': Math.round(claimIdleMs + claimIdleMs / 2),
    'min ms': Math.round(Math.min(...samples)),
    'median ms': Math.round(percentile(samples, 50)),
    'max ms': Math.round(Math.max(...samples)),
    'max / CLAIM_IDLE_MS': round(Math.max(...samples) / claimIdleMs, 2),
  })
}

await report(`Recovery: SIGKILL of the transcoder holding a job -> another starts it`, rows, values.output)
await redis.stop()
await dir.remove()
