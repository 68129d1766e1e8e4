/**
 * Retention on a running pipeline (real redis-server, real ffmpeg, real HTTP), with retention
 * periods of seconds: outputs expire first (the job shows `expired`), then the record goes with
 * every key naming it and its files, a failed job's kept upload included.
 */
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { StatsSchema } from '@vpp/shared'
import { MP4_HEAD, makeClip, startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, keysNaming, type Pipeline, startPipeline } from './harness.ts'

const DAY_S = 24 * 3600
let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let pipeline: Pipeline
const clips = { short: '', poison: '' }

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
  clips.short = await makeClip(`${dir.path}/short.mp4`, { width: 320, height: 180, seconds: 1, audio: false })
  clips.poison = `${dir.path}/poison.mp4`
  await writeFile(clips.poison, Buffer.concat([MP4_HEAD, Buffer.from('not a movie at all')]))
  pipeline = await startPipeline(redis, `${dir.path}/data`)
  await pipeline.transcoder({
    OUTPUT_RETENTION_DAYS: String(1 / DAY_S), // outputs: 1 s after completion
    JOB_RETENTION_DAYS: String(4 / DAY_S), // records: 4 s after finishing
    RETENTION_SWEEP_MS: '200',
  })
})
afterAll(async () => {
  await pipeline?.close()
  await redis?.stop()
  await dir?.remove()
})

const getJob = (id: string) => fetch(`${pipeline.status}/jobs/${id}`)
const stats = async () => StatsSchema.parse(await (await fetch(`${pipeline.status}/stats`)).json())
const noKeyNames = (id: string) => async () =>
  (await keysNaming(pipeline.store, pipeline.env.REDIS_KEY_PREFIX ?? '', id)).length === 0

describe('retention', () => {
  it('expires a completed job (outputs removed, status expired), then removes its record and every key', async () => {
    const form = new FormData()
    form.append('file', new Blob([await readFile(clips.short)]), 'clip.mp4')
    const res = await fetch(`${pipeline.ingest}/upload`, {
      method: 'POST',
      body: form,
      headers: { 'Idempotency-Key': 'retention-1' },
    })
    const { job_id: id } = (await res.json()) as { job_id: string }
    const completed = await pipeline.waitFor(id, ['completed'], 60_000)
    const media = `${pipeline.status}${new URL(completed.playback?.mp4 ?? '').pathname}`
    expect((await fetch(media)).status).toBe(200)

    const expired = await pipeline.waitFor(id, ['expired'], 10_000)
    expect(expired).toMatchObject({ status: 'expired', outputs: [], progress: 100 })
    expect(expired.playback).toBeUndefined()
    expect(Date.parse(expired.expired_at ?? '')).toBeGreaterThanOrEqual(
      Date.parse(completed.updated_at) + 1000,
    )
    await eventually(() => !existsSync(`${dir.path}/data/output/${id}`), 5000, 'the outputs to be removed')
    expect((await fetch(media)).status).toBe(404)
    expect((await stats()).jobs_by_status).toMatchObject({ expired: 1 })
    const listed = (await (await fetch(`${pipeline.status}/jobs?status=expired`)).json()) as {
      jobs: Array<{ job_id: string }>
    }
    expect(listed.jobs.map((j) => j.job_id)).toEqual([id])
    expect((await fetch(`${pipeline.status}/jobs/${id}/cancel`, { method: 'POST' })).status).toBe(409)

    await eventually(async () => (await getJob(id)).status === 404, 10_000, 'the record to be removed')
    await eventually(noKeyNames(id), 10_000, 'no key to name the job')
    expect((await stats()).jobs_by_status.expired ?? 0).toBe(0)
  })

  it("removes a failed job's record, dead letter and kept upload when its record expires", async () => {
    const id = await pipeline.upload(clips.poison)
    await pipeline.waitFor(id, ['failed'], 60_000)
    // Kept for a retry from the dead-letter queue while the record lives.
    expect(existsSync(`${dir.path}/data/uploads/${id}`)).toBe(true)
    expect((await stats()).dlq_depth).toBe(1)

    await eventually(async () => (await getJob(id)).status === 404, 10_000, 'the record to be removed')
    expect((await stats()).dlq_depth).toBe(0)
    await eventually(() => !existsSync(`${dir.path}/data/uploads/${id}`), 10_000, 'the upload to be removed')
    await eventually(noKeyNames(id), 10_000, 'no key to name the job')
  })
})
