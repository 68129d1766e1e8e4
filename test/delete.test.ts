/**
 * DELETE /jobs/{id}: nothing of a job remains, in Redis or on disk. Real redis-server, real
 * ffmpeg, real HTTP.
 */
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { MP4_HEAD, makeClip, startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  eventually,
  keysNaming as harnessKeysNaming,
  type Pipeline,
  processesMatching,
  startPipeline,
} from './harness.ts'

let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let pipeline: Pipeline
const clips = { short: '', long: '', poison: '' }

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
  ;[clips.short, clips.long] = await Promise.all([
    makeClip(`${dir.path}/short.mp4`, { width: 640, height: 360, seconds: 2, audio: true }),
    makeClip(`${dir.path}/long.mp4`, { width: 1280, height: 720, seconds: 20, audio: true }),
  ])
  clips.poison = `${dir.path}/poison.mp4`
  await writeFile(clips.poison, Buffer.concat([MP4_HEAD, Buffer.from('not a movie at all')]))
  pipeline = await startPipeline(redis, `${dir.path}/data`)
  await pipeline.transcoder()
})
afterAll(async () => {
  await pipeline?.close()
  await redis?.stop()
  await dir?.remove()
})

const remove = (id: string) => fetch(`${pipeline.status}/jobs/${id}`, { method: 'DELETE' })

/** Every key under the pipeline's prefix that still names job `id`. */
const keysNaming = (id: string) => harnessKeysNaming(pipeline.store, pipeline.env.REDIS_KEY_PREFIX ?? '', id)

describe('DELETE /jobs/{id}', () => {
  it('removes a completed job: record, keys, outputs, upload; its media answer 404 at once', async () => {
    const form = new FormData()
    form.append('file', new Blob([await readFile(clips.short)]), 'clip.mp4')
    const res = await fetch(`${pipeline.ingest}/upload`, {
      method: 'POST',
      body: form,
      headers: { 'Idempotency-Key': 'delete-me-1' },
    })
    const { job_id: id } = (await res.json()) as { job_id: string }
    const job = await pipeline.waitFor(id, ['completed'], 60_000)
    const media = `${pipeline.status}${new URL(job.playback?.mp4 ?? '').pathname}`
    expect((await fetch(media)).status).toBe(200)

    expect((await remove(id)).status).toBe(204)
    expect((await remove(id)).status).toBe(404)
    expect((await fetch(`${pipeline.status}/jobs/${id}`)).status).toBe(404)
    expect((await fetch(media)).status).toBe(404)
    await eventually(() => !existsSync(`${dir.path}/data/output/${id}`), 15_000, 'the outputs to be removed')
    expect(existsSync(`${dir.path}/data/uploads/${id}`)).toBe(false)
    await eventually(async () => (await keysNaming(id)).length === 0, 10_000, 'no key to name the job')
    expect((await pipeline.store.stats.read(new Date())).jobs_by_status.completed ?? 0).toBe(0)
  })

  it('removes a failed job with its dead letter and its kept upload', async () => {
    const id = await pipeline.upload(clips.poison)
    await pipeline.waitFor(id, ['failed'], 60_000)
    expect(existsSync(`${dir.path}/data/uploads/${id}`)).toBe(true)
    expect((await remove(id)).status).toBe(204)
    await eventually(() => !existsSync(`${dir.path}/data/uploads/${id}`), 15_000, 'the upload to be removed')
    await eventually(
      async () => (await keysNaming(id)).length === 0,
      10_000,
      'no key (nor dead letter) to name it',
    )
  })

  it('cancels a running job first: its ffmpeg stops, nothing is published', async () => {
    const id = await pipeline.upload(clips.long)
    await eventually(() => processesMatching(`ffmpeg.*${id}`).length > 0, 30_000, 'ffmpeg to start')
    expect((await remove(id)).status).toBe(204)
    await eventually(() => processesMatching(`ffmpeg.*${id}`).length === 0, 3000, 'its ffmpeg to stop')
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(existsSync(`${dir.path}/data/output/${id}`)).toBe(false)
    await eventually(async () => (await keysNaming(id)).length === 0, 10_000, 'no key to name it')
  })
})
