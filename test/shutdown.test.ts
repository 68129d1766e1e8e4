/**
 * Stopping a transcoder mid-job: its ffmpeg processes die with it, the job goes back on the queue
 * (nothing accepted is lost), and the next transcoder finishes it.
 */
import { execFileSync } from 'node:child_process'
import { readdir, readFile } from 'node:fs/promises'
import { loadConfig as ingestConfig, startIngest } from '@vpp/ingest'
import { closeRedis, connectRedis, createLogger, type Job, JobStore, redisKeys } from '@vpp/shared'
import type { RunningService } from '@vpp/shared/node'
import { makeClip, startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { startTranscoder, loadConfig as transcoderConfig } from '@vpp/transcoder'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let env: Record<string, string>
const running: RunningService[] = []
const log = (service: string) => createLogger({ service, level: 'silent' })

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
  env = {
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: redis.prefix(),
    DATA_DIR: `${dir.path}/data`,
    HOST: '127.0.0.1',
    INGEST_PORT: '0',
    TRANSCODER_METRICS_PORT: '0',
    WORKER_CONCURRENCY: '1',
  }
})
afterAll(async () => {
  for (const service of running.reverse()) await service.close()
  await redis?.stop()
  await dir?.remove()
})

function processesMentioning(text: string): string[] {
  try {
    return execFileSync('pgrep', ['-f', text]).toString().trim().split('\n').filter(Boolean)
  } catch {
    return []
  }
}

describe('transcoder shutdown', () => {
  it('kills its ffmpeg, requeues the job, and another transcoder completes it', async () => {
    const clip = await makeClip(`${dir.path}/long.mp4`, { width: 1280, height: 720, seconds: 8, audio: true })
    const ingest = await startIngest(ingestConfig(env), log('ingest'))
    running.push(ingest)
    const first = await startTranscoder(transcoderConfig({ ...env, CONSUMER_NAME: 'first' }), log('t1'))

    const form = new FormData()
    form.append('file', new Blob([await readFile(clip)]), 'long.mp4')
    const res = await fetch(`http://127.0.0.1:${ingest.port}/upload`, { method: 'POST', body: form })
    const { job_id } = (await res.json()) as { job_id: string }

    const client = await connectRedis(redis.url, log('test'))
    const store = new JobStore(client, redisKeys(env.REDIS_KEY_PREFIX))
    const waitFor = async (check: (job: Job) => boolean, what: string) => {
      const deadline = Date.now() + 60_000
      for (;;) {
        const job = await store.get(job_id)
        if (job && check(job)) return job
        if (Date.now() > deadline) throw new Error(`job never became ${what}: ${JSON.stringify(job)}`)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }

    // Wait until ffmpeg is encoding this job (its input path is on ffmpeg's command line).
    await waitFor((job) => job.status === 'processing', 'processing')
    const deadline = Date.now() + 30_000
    while (processesMentioning(`ffmpeg.*${job_id}`).length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    expect(processesMentioning(`ffmpeg.*${job_id}`).length).toBeGreaterThan(0)

    await first.close()
    await first.close() // twice is harmless

    expect(processesMentioning(`ffmpeg.*${job_id}`)).toEqual([])
    expect(await store.get(job_id)).toMatchObject({ status: 'queued', attempts: 1, outputs: [] })
    expect(await client.xLen(store.keys.stream)).toBe(1)
    expect((await client.xPending(store.keys.stream, store.keys.group)).pending).toBe(0)
    expect(await readdir(`${env.DATA_DIR}/output/${job_id}`).catch(() => [])).toEqual([])

    const second = await startTranscoder(transcoderConfig({ ...env, CONSUMER_NAME: 'second' }), log('t2'))
    running.push(second)
    const done = await waitFor((job) => job.status === 'completed' || job.status === 'failed', 'finished')
    expect(done).toMatchObject({ status: 'completed', attempts: 2 })
    expect(done.outputs).toHaveLength(5)
    expect(await client.xLen(store.keys.stream)).toBe(0)
    await closeRedis(client)
  })
})
