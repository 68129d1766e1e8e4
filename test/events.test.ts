/**
 * The job event log, as server-sent events from the status service: one job from queued to
 * completed, and every job's events resumed with Last-Event-ID, exactly. Real HTTP, real Redis,
 * real ffmpeg.
 */

import { writeFile } from 'node:fs/promises'
import { createLogger, toHash } from '@vpp/shared'
import {
  makeClip,
  markPlayable,
  mp4Bytes,
  queuedJob,
  startTestRedis,
  type TestRedis,
  tempDir,
} from '@vpp/shared/testing'
import { startStatus, loadConfig as statusConfig } from '@vpp/status'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Pipeline, spawnService, startPipeline } from './harness.ts'
import { openSse } from './sse.ts'

let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let pipeline: Pipeline
let clip = ''

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
  clip = await makeClip(`${dir.path}/clip.mp4`, { width: 640, height: 360, seconds: 3, audio: true })
  // Keep-alives every 300 ms; REQUEST_TIMEOUT_MS short, so an SSE stream outlives the idle timeout.
  pipeline = await startPipeline(redis, `${dir.path}/data`, {
    TRANSCODE_PROFILES: '360p,hls,thumbnail',
    SSE_KEEPALIVE_MS: '300',
    REQUEST_TIMEOUT_MS: '1000',
  })
})
afterAll(async () => {
  await pipeline?.close()
  await redis?.stop()
  await dir?.remove()
})

describe('GET /jobs/{id}/events', () => {
  it('streams one job from queued to completed, then ends', async () => {
    const id = await pipeline.upload(clip)
    const sse = openSse(`${pipeline.status}/jobs/${id}/events`)
    expect(await sse.status).toBe(200)
    await sse.waitFor(1)
    await pipeline.transcoder()
    await sse.ended
    const types = sse.events.map((e) => e.event)
    expect(types[0]).toBe('job.queued')
    expect(types[1]).toBe('job.processing')
    expect(types.at(-1)).toBe('job.completed')
    // A 3 s clip is one run: its stream is playable as it completes, just before job.completed.
    expect(new Set(types.slice(2, -2))).toEqual(new Set(['job.progress']))
    expect(types.at(-2)).toBe('job.playable')
    for (const event of sse.events) {
      expect(event.data).toMatchObject({ type: event.event, job_id: id })
      expect(event.id).toMatch(/^\d+-\d+$/)
      expect(Date.parse(String(event.data.at))).toBe(Number(event.id.split('-')[0]))
    }
    const completed = sse.events.at(-1)?.data
    const record = await (await fetch(`${pipeline.status}/jobs/${id}`)).json()
    expect(completed).toMatchObject({
      status: 'completed',
      outputs: record.outputs,
      playback: record.playback,
    })
    expect(sse.events.find((e) => e.event === 'job.progress')?.data).toMatchObject({
      status: 'processing',
      progress: expect.any(Number),
    })
    // Progress at most once a second per job.
    const progress = sse.events
      .filter((e) => e.event === 'job.progress')
      .map((e) => Number(e.id.split('-')[0]))
    for (let i = 1; i < progress.length; i++)
      expect(progress[i]! - progress[i - 1]!).toBeGreaterThanOrEqual(1000)
    // The keep-alives kept it open past REQUEST_TIMEOUT_MS's idle limit.
    expect(sse.comments).toBeGreaterThan(0)

    // A finished job's stream replays its events and ends; after its last event, at once.
    const replay = openSse(`${pipeline.status}/jobs/${id}/events`)
    await replay.ended
    expect(replay.events.map((e) => e.id)).toEqual(sse.events.map((e) => e.id))
    const after = openSse(`${pipeline.status}/jobs/${id}/events`, {
      'Last-Event-ID': sse.events.at(-1)?.id ?? '',
    })
    await after.ended
    expect(after.events).toEqual([])
  })

  it('answers 404 for an unknown job and 400 for a bad Last-Event-ID', async () => {
    expect((await fetch(`${pipeline.status}/jobs/no-such-job/events`)).status).toBe(404)
    const bad = await fetch(`${pipeline.status}/events`, { headers: { 'Last-Event-ID': 'yesterday' } })
    expect(bad.status).toBe(400)
    expect(await bad.json()).toMatchObject({ error: 'bad_request' })
  })
})

describe('GET /events', () => {
  it('resumes with Last-Event-ID with exactly the missed events, none lost, none repeated', async () => {
    const reference = openSse(`${pipeline.status}/events`)
    const first = openSse(`${pipeline.status}/events`)
    expect([await reference.status, await first.status]).toEqual([200, 200])
    const ids = await Promise.all([pipeline.upload(clip), pipeline.upload(clip)])
    const seen = await first.waitFor(2)
    first.close()
    for (const id of ids) await pipeline.waitFor(id, ['completed'])
    // job.queued x2, processing, progress..., completed x2 at least.
    const all = await reference.waitFor(6)
    const resumed = openSse(`${pipeline.status}/events`, { 'Last-Event-ID': seen[1]?.id ?? '' })
    const total = reference.events.length
    await resumed.waitFor(total - 2)
    // Nothing more than those (a short wait for a repeat that must not come).
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect([...seen, ...resumed.events].map((e) => e.id)).toEqual(reference.events.map((e) => e.id))
    expect(all.length).toBeGreaterThanOrEqual(6)
    const deleted = openSse(`${pipeline.status}/events`)
    await deleted.status
    expect((await fetch(`${pipeline.status}/jobs/${ids[0]}`, { method: 'DELETE' })).status).toBe(204)
    const [gone] = await deleted.waitFor(1)
    expect(gone).toMatchObject({ event: 'job.deleted', data: { job_id: ids[0], status: 'deleted' } })
    for (const client of [reference, resumed, deleted]) client.close()
  })
})

describe('SSE on Bun and Deno', () => {
  it('streams the same events, and a quiet stream outlives the idle timeout on its keep-alives', async () => {
    // Keep-alives every 8 s, past the ~6 s a quiet connection gets here (REQUEST_TIMEOUT_MS 1 s).
    const env = { ...pipeline.env, SSE_KEEPALIVE_MS: '8000', REQUEST_TIMEOUT_MS: '1000' }
    const services = await Promise.all(
      (['bun', 'deno'] as const).map((runtime) => spawnService('status', runtime, env)),
    )
    try {
      const streams = services.map((service) => openSse(`${service.url}/events`))
      for (const stream of streams) expect(await stream.status).toBe(200)
      await new Promise((resolve) => setTimeout(resolve, 10_000))
      for (const [i, stream] of streams.entries()) {
        expect(stream.comments, ['bun', 'deno'][i]).toBeGreaterThan(0)
        expect(await Promise.race([stream.ended.then(() => 'ended'), Promise.resolve('open')])).toBe('open')
      }
      const id = await pipeline.upload(clip)
      await pipeline.waitFor(id, ['completed'])
      for (const stream of streams) {
        const events = await stream.waitFor(3)
        expect(events[0]).toMatchObject({ event: 'job.queued', data: { job_id: id } })
        stream.close()
      }
      // A finished job's own stream replays its events and ends, as on Node.
      const node = openSse(`${pipeline.status}/jobs/${id}/events`)
      await node.ended
      for (const service of services) {
        const replay = openSse(`${service.url}/jobs/${id}/events`)
        await replay.ended
        expect(replay.events.map((e) => e.id)).toEqual(node.events.map((e) => e.id))
      }
    } finally {
      await Promise.all(services.map((service) => service.stop()))
    }
  }, 60_000)
})

describe('closing the status service', () => {
  it('ends its open event streams, so it stops at once', async () => {
    const status = await startStatus(
      statusConfig(pipeline.env),
      createLogger({ service: 'status', level: 'silent' }),
    )
    const stream = openSse(`http://127.0.0.1:${status.port}/events`)
    expect(await stream.status).toBe(200)
    const started = Date.now()
    await status.close()
    await stream.ended
    expect(Date.now() - started).toBeLessThan(3000)
  })
})

describe('a job retried from the dead-letter queue', () => {
  it('has its own stream replay the old failure and go on to its new end', async () => {
    const poison = `${dir.path}/poison.mp4`
    await writeFile(poison, mp4Bytes(50_000))
    const id = await pipeline.upload(poison)
    await pipeline.waitFor(id, ['failed'], 30_000)
    const dlq = (await (await fetch(`${pipeline.status}/dlq`)).json()) as {
      entries: Array<{ message_id: string; job_id: string }>
    }
    const entry = dlq.entries.find((e) => e.job_id === id)
    expect(
      (await fetch(`${pipeline.status}/dlq/${entry?.message_id}/retry`, { method: 'POST' })).status,
    ).toBe(202)
    const sse = openSse(`${pipeline.status}/jobs/${id}/events`)
    await sse.ended
    const types = sse.events.map((e) => e.event)
    // The first failure, the retry, then the second failure: the stream ends at the last one.
    expect(types.filter((t) => t === 'job.failed')).toHaveLength(2)
    expect(types.indexOf('job.queued', 1)).toBeGreaterThan(types.indexOf('job.failed'))
    expect(types.at(-1)).toBe('job.failed')
  })
})

describe('a job playable while processing', () => {
  it('has job.playable on its own stream and the feed, with the master URL, and its stream goes on', async () => {
    // The record of a job a transcoder is running (none here: nothing else touches it).
    const id = 'playable-0b3c5f0e-3c1e-4d8a'
    const { store } = pipeline
    await store.client.hSet(store.keys.job(id), toHash(queuedJob(id, { status: 'processing', attempts: 1 })))
    const own = openSse(`${pipeline.status}/jobs/${id}/events`)
    const feed = openSse(`${pipeline.status}/events`)
    expect([await own.status, await feed.status]).toEqual([200, 200])
    const eventId = await markPlayable(store, id, new Date())
    const record = await (await fetch(`${pipeline.status}/jobs/${id}`)).json()
    expect(record.playback).toEqual({
      hls: expect.stringMatching(new RegExp(`/media/${id}/hls/master\\.m3u8$`)),
      mp4: null,
      thumbnail: null,
      storyboard: null,
    })
    for (const stream of [own, feed]) {
      const [event] = await stream.waitFor(1)
      expect(event).toEqual({
        event: 'job.playable',
        id: eventId,
        data: {
          type: 'job.playable',
          job_id: id,
          status: 'processing',
          at: new Date(Number(eventId.split('-')[0])).toISOString(),
          playback: record.playback,
        },
      })
    }
    // Not a final event: the job's own stream stays open.
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(await Promise.race([own.ended.then(() => 'ended'), Promise.resolve('open')])).toBe('open')
    own.close()
    feed.close()
  })
})
