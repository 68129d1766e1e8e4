/**
 * Progress that is never silent: a 30 s clip through every default profile (MP4 ladder, VP9, HLS,
 * thumbnail, storyboard) reports progress from its first second on. Branches that write late (a
 * storyboard sheet after columns x rows tiles, a thumbnail picked a quarter in) used to hold
 * ffmpeg's reports back until they began, so a job's progress said nothing until near its end.
 * Real HTTP (SSE), real Redis, real ffmpeg.
 */
import { makeClip, startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Pipeline, startPipeline } from './harness.ts'
import { openSse } from './sse.ts'

let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let pipeline: Pipeline
let clip = ''

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
  clip = await makeClip(`${dir.path}/clip.mp4`, { width: 1280, height: 720, seconds: 30, audio: true })
  // Every profile of the table: the storyboard's first sheet would need all 30 of its tiles.
  pipeline = await startPipeline(redis, `${dir.path}/data`, {})
})
afterAll(async () => {
  await pipeline?.close()
  await redis?.stop()
  await dir?.remove()
})

describe('live progress', () => {
  it('reports at least 10 rising job.progress events, the first within 2 s of job.processing', async () => {
    const id = await pipeline.upload(clip)
    const sse = openSse(`${pipeline.status}/jobs/${id}/events`)
    await sse.waitFor(1)
    await pipeline.transcoder()
    await sse.ended
    const at = (event: { id: string }) => Number(event.id.split('-')[0])
    const processing = sse.events.find((e) => e.event === 'job.processing')
    const progress = sse.events.filter((e) => e.event === 'job.progress')
    expect(sse.events.at(-1)?.event).toBe('job.completed')
    expect(processing).toBeDefined()
    expect(progress.length).toBeGreaterThanOrEqual(10)
    // Times from the event log's own ids (the moment Redis recorded each event).
    expect(at(progress[0] as { id: string }) - at(processing as { id: string })).toBeLessThanOrEqual(2000)
    const percents = progress.map((e) => Number(e.data.progress))
    for (let i = 1; i < percents.length; i++) expect(percents[i]).toBeGreaterThan(percents[i - 1] as number)
    expect(percents.at(-1)).toBeLessThan(100)
  })
})
