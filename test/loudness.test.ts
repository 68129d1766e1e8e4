/**
 * `normalize_audio: true` through the real pipeline, in both engines: a quiet clip (a sine at
 * -30 dB, about -52 LUFS) comes out within 1 LU of -16 LUFS integrated, as ffmpeg's `ebur128`
 * reads it back from each output. Real redis-server, real ffmpeg, real HTTP.
 */
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import { makeClip, startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type Pipeline, startPipeline } from './harness.ts'

const run = promisify(execFile)
let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let pipeline: Pipeline | undefined
const clips = { short: '', long: '', silent: '' }

/** A clip whose tone is 30 dB under ffmpeg's sine (about -52 LUFS). */
async function quietClip(path: string, seconds: number): Promise<string> {
  // biome-ignore format: flag and value on one line
  await run('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-nostdin', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=320x240:rate=24:duration=${seconds}`,
    '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds},volume=-30dB`,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '96k', path,
  ])
  return path
}

/** The integrated loudness of a file's audio, in LUFS, as ffmpeg's EBU R128 meter reads it. */
async function integrated(path: string): Promise<number> {
  const { stderr } = await run('ffmpeg', [
    ...['-hide_banner', '-nostdin', '-nostats', '-i', path, '-map', '0:a'],
    // framelog=quiet, by its number: ffmpeg 5.1 names only `info` and `verbose`.
    ...['-af', 'ebur128=framelog=-8', '-f', 'null', '-'],
  ])
  const summary = stderr.slice(stderr.lastIndexOf('Summary:'))
  return Number(/I:\s+(-?[\d.]+) LUFS/.exec(summary)?.[1])
}

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
  ;[clips.short, clips.long, clips.silent] = await Promise.all([
    quietClip(`${dir.path}/short.mp4`, 3),
    quietClip(`${dir.path}/long.mp4`, 6),
    makeClip(`${dir.path}/silent.mp4`, { width: 320, height: 240, seconds: 2, audio: false }),
  ])
})
afterEach(async () => {
  await pipeline?.close()
  pipeline = undefined
})
afterAll(async () => {
  await redis?.stop()
  await dir?.remove()
})

async function normalised(clip: string, profiles: string): Promise<Map<string, number>> {
  if (!pipeline) throw new Error('no pipeline')
  expect(await integrated(clip)).toBeLessThan(-45)
  const form = new FormData()
  form.append('file', new Blob([await readFile(clip)]), 'quiet.mp4')
  form.append('profiles', profiles)
  form.append('normalize_audio', 'true')
  const res = await fetch(`${pipeline.ingest}/upload`, { method: 'POST', body: form })
  expect(res.status).toBe(202)
  const { job_id } = (await res.json()) as { job_id: string }
  const job = await pipeline.waitFor(job_id, ['completed', 'failed'], 90_000)
  expect(job.status, job.error).toBe('completed')
  expect(job.normalize_audio).toBe(true)
  const loudness = new Map<string, number>()
  for (const output of job.outputs.filter((o) => o.codec === 'h264' || o.codec === 'vp9'))
    loudness.set(output.profile, await integrated(output.path))
  return loudness
}

describe('normalize_audio', () => {
  it('brings every rendition of a single run within 1 LU of -16 LUFS; leaves a source without audio alone', async () => {
    pipeline = await startPipeline(redis, `${dir.path}/one-run`, { CHUNK_SECONDS: '0' })
    await pipeline.transcoder()
    const loudness = await normalised(clips.short, 'original,webm_original,hls')
    expect([...loudness.keys()].sort()).toEqual(['original', 'webm_original'])
    for (const [profile, lufs] of loudness)
      expect(Math.abs(lufs + 16), `${profile}: ${lufs}`).toBeLessThanOrEqual(1)
    // A source without audio: nothing to normalise, no error.
    const form = new FormData()
    form.append('file', new Blob([await readFile(clips.silent)]), 'silent.mp4')
    form.append('profiles', 'original')
    form.append('normalize_audio', 'true')
    const res = await fetch(`${pipeline.ingest}/upload`, { method: 'POST', body: form })
    const { job_id } = (await res.json()) as { job_id: string }
    const job = await pipeline.waitFor(job_id, ['completed', 'failed'], 60_000)
    expect(job.status, job.error).toBe('completed')
    expect(job.outputs.map((o) => o.profile)).toEqual(['original'])
  })

  it('brings a job encoded in chunks within 1 LU of -16 LUFS (measured once, by the audio item)', async () => {
    pipeline = await startPipeline(redis, `${dir.path}/chunked`, { CHUNK_SECONDS: '2' })
    const transcoder = await pipeline.transcoder()
    const loudness = await normalised(clips.long, 'original,webm_original,hls')
    const metrics = await (await fetch(`http://127.0.0.1:${transcoder.port}/metrics`)).text()
    expect(metrics).toMatch(/^video_chunks_processed_total\{status="completed"[^}]*\} [1-9]/m)
    expect([...loudness.keys()].sort()).toEqual(['original', 'webm_original'])
    for (const [profile, lufs] of loudness)
      expect(Math.abs(lufs + 16), `${profile}: ${lufs}`).toBeLessThanOrEqual(1)
  })
})
