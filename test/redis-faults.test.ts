/**
 * Redis failing the transcoder in the two quiet ways: a reply lost after the script ran, and a
 * server that stops answering without closing anything. Real redis-server, real ffmpeg; the lost
 * reply comes from a TCP relay in front of Redis that cuts the connection at the right moment.
 */
import { existsSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { freePort } from '@vpp/shared/node'
import { makeClip, startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { eventually, type Pipeline, startPipeline } from './harness.ts'

let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let pipeline: Pipeline | undefined
let clip = ''

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
  clip = await makeClip(`${dir.path}/clip.mp4`, { width: 320, height: 180, seconds: 2, audio: true })
})
afterEach(async () => {
  redis.thaw()
  await pipeline?.close()
  pipeline = undefined
})
afterAll(async () => {
  await redis?.stop()
  await dir?.remove()
})

/**
 * A TCP relay to Redis. Once armed, the first command whose bytes contain `marker` goes through
 * to Redis, and that connection is then cut before any answer comes back: the script ran, its
 * reply is lost.
 */
async function lossyRelay(
  target: number,
): Promise<{ url: string; arm(marker: string): Promise<void>; close(): void }> {
  const sockets = new Set<Socket>()
  let marker: string | undefined
  let cut: (() => void) | undefined
  const cutDone = new Promise<void>((resolve) => {
    cut = resolve
  })
  const server: Server = createServer((client) => {
    const upstream = new (client.constructor as typeof Socket)()
    upstream.connect(target, '127.0.0.1')
    sockets.add(client).add(upstream)
    let dropping = false
    client.on('data', (data: Buffer) => {
      upstream.write(data)
      if (marker && data.includes(marker)) {
        marker = undefined
        dropping = true
        // Long enough for Redis to run it; nothing of its answer is passed on.
        setTimeout(() => {
          client.destroy()
          upstream.destroy()
          cut?.()
        }, 100)
      }
    })
    upstream.on('data', (data: Buffer) => {
      if (!dropping) client.write(data)
    })
    for (const socket of [client, upstream]) {
      socket.on('error', () => {})
      socket.on('close', () => {
        client.destroy()
        upstream.destroy()
      })
    }
  })
  const port = await freePort()
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return {
    url: `redis://127.0.0.1:${port}`,
    arm(text) {
      marker = text
      return cutDone
    },
    close() {
      for (const socket of sockets) socket.destroy()
      server.close()
    },
  }
}

/** `video_jobs_processed_total{status="completed",profile="all"}` of a transcoder's /metrics. */
async function completedCount(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  const line = text
    .split('\n')
    .find(
      (l) =>
        l.startsWith('video_jobs_processed_total{') &&
        l.includes('status="completed"') &&
        l.includes('profile="all"'),
    )
  return Number(line?.split(' ').pop() ?? 0)
}

describe('Redis faults in the transcoder', () => {
  it('a lost finish reply: the job is completed once, its upload removed, the next job not stranded', async () => {
    const relay = await lossyRelay(redis.port)
    try {
      pipeline = await startPipeline(redis, `${dir.path}/lost`, {
        TRANSCODE_PROFILES: '360p',
        WORKER_CONCURRENCY: '1',
        // Far past the test: only a correct answer to the repeated finish gets the next job run.
        CLAIM_IDLE_MS: '120000',
      })
      const p = pipeline
      const first = await p.upload(clip, 'first.mp4')
      const second = await p.upload(clip, 'second.mp4')
      // The finish of a completed job carries `"status":"completed"` in its JSON argument; no
      // other command does.
      const lost = relay.arm('"status":"completed"')
      const transcoder = await p.transcoder({ REDIS_URL: relay.url, CONSUMER_NAME: 'lossy' })
      await lost
      expect(await p.waitFor(first, ['completed', 'failed'], 30_000)).toMatchObject({
        status: 'completed',
        attempts: 1,
      })
      expect(await p.waitFor(second, ['completed', 'failed'], 30_000)).toMatchObject({
        status: 'completed',
        attempts: 1,
      })
      await eventually(async () => (await completedCount(transcoder.port)) === 2, 5000, 'both counted')
      expect((await p.store.stats.read(new Date())).jobs_by_status).toEqual({ completed: 2 })
      expect(await p.store.client.zCard(p.store.keys.finished)).toBe(2)
      expect(existsSync(`${dir.path}/lost/uploads/${first}`)).toBe(false)
      expect(existsSync(`${dir.path}/lost/uploads/${second}`)).toBe(false)
      expect((await p.store.client.xPending(p.store.keys.stream, p.store.keys.group)).pending).toBe(0)
    } finally {
      relay.close()
    }
  })

  it('a silent Redis (SIGSTOP): the transcoder logs the timeout, stays up, and records the job once after SIGCONT', async () => {
    pipeline = await startPipeline(redis, `${dir.path}/frozen`, {
      TRANSCODE_PROFILES: '720p,480p,360p,webm_720p',
      WORKER_CONCURRENCY: '1',
      CLAIM_IDLE_MS: '20000',
    })
    const p = pipeline
    const metricsPort = await freePort()
    const transcoder = p.childTranscoder({
      CONSUMER_NAME: 'patient',
      REDIS_COMMAND_TIMEOUT_MS: '1000',
      TRANSCODER_METRICS_PORT: String(metricsPort),
    })
    const big = await makeClip(`${dir.path}/big.mp4`, { width: 1280, height: 720, seconds: 10, audio: true })
    const id = await p.upload(big)
    await p.waitFor(id, ['processing'], 30_000)

    redis.freeze()
    await eventually(
      () => transcoder.logs().includes('Redis did not answer within 1000 ms'),
      10_000,
      'a timeout logged',
    )
    await new Promise((resolve) => setTimeout(resolve, 3000))
    expect(transcoder.process.exitCode).toBeNull()
    redis.thaw()

    expect(await p.waitFor(id, ['completed', 'failed'], 60_000)).toMatchObject({
      status: 'completed',
      attempts: 1,
    })
    expect((await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).status).toBe(200)
    await eventually(async () => (await completedCount(metricsPort)) === 1, 5000, 'the job counted')
    expect((await p.store.stats.read(new Date())).jobs_by_status).toEqual({ completed: 1 })
    expect(await p.store.client.zCard(p.store.keys.finished)).toBe(1)
    expect(await p.store.client.xLen(p.store.keys.dlq)).toBe(0)
  })
})
