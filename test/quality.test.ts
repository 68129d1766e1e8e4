/**
 * The `ssim` of every video rendition, through the real pipeline: present on each one (and on
 * nothing else), from both engines, and within 0.01 of the SSIM of the whole video as a
 * hand-written ffmpeg command measures it. Real redis-server, real ffmpeg.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import type { Job } from '@vpp/shared'
import { makeClip, startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type Pipeline, startPipeline } from './harness.ts'

const run = promisify(execFile)
let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let pipeline: Pipeline | undefined
const clips = { short: '', long: '' }

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
  // 4:3, so the ladder has a rung at the source's size (480p), one below (360p) and a VP9 WebM.
  ;[clips.short, clips.long] = await Promise.all([
    makeClip(`${dir.path}/short.mp4`, { width: 640, height: 480, seconds: 3, audio: true }),
    makeClip(`${dir.path}/long.mp4`, { width: 640, height: 480, seconds: 6, audio: true }),
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

/**
 * SSIM of a whole rendition against the source, written by hand: the source scaled to the
 * rendition's size (bicubic), frame n against frame n (both clips have a constant rate: pairing
 * by index keeps a WebM's millisecond timestamps from pairing a frame with its predecessor).
 */
async function wholeSsim(rendition: string, source: string, width: number, height: number): Promise<number> {
  const { stderr } = await run('ffmpeg', [
    ...['-hide_banner', '-nostdin', '-i', rendition, '-i', source, '-filter_complex'],
    `[1:v]scale=${width}:${height}:flags=bicubic,settb=AVTB,setpts=N[ref];[0:v]settb=AVTB,setpts=N[rend];[rend][ref]ssim`,
    ...['-f', 'null', '-'],
  ])
  return Number(/SSIM .* All:([\d.]+)/.exec(stderr)?.[1])
}

/** Every video output has `ssim`, within 0.01 of its whole SSIM; nothing else has one. */
async function checkQuality(job: Job, source: string): Promise<void> {
  expect(job.status).toBe('completed')
  const videos = job.outputs.filter((output) => output.codec === 'h264' || output.codec === 'vp9')
  expect(videos.map((output) => output.codec).sort()).toEqual(['h264', 'h264', 'vp9'])
  for (const output of job.outputs.filter((o) => !videos.includes(o))) expect(output.ssim).toBeUndefined()
  for (const output of videos) {
    const whole = await wholeSsim(output.path, source, output.width ?? 0, output.height ?? 0)
    expect(whole, output.profile).toBeGreaterThan(0.9)
    expect(output.ssim, output.profile).toBeGreaterThan(0)
    expect(
      Math.abs((output.ssim ?? 0) - whole),
      `${output.profile}: ${output.ssim} against ${whole}`,
    ).toBeLessThan(0.01)
  }
}

describe('the ssim of each rendition', () => {
  it('is on every video output of a one-run job, within 0.01 of the whole video’s', async () => {
    pipeline = await startPipeline(redis, `${dir.path}/one-run`, { CHUNK_SECONDS: '0' })
    await pipeline.transcoder()
    const id = await pipeline.upload(clips.short)
    await checkQuality(await pipeline.waitFor(id, ['completed', 'failed'], 60_000), clips.short)
  })

  it('is on every video output of a job encoded in chunks, within 0.01 of the whole video’s', async () => {
    pipeline = await startPipeline(redis, `${dir.path}/chunked`, { CHUNK_SECONDS: '2' })
    const transcoder = await pipeline.transcoder()
    const id = await pipeline.upload(clips.long)
    const job = await pipeline.waitFor(id, ['completed', 'failed'], 90_000)
    // Encoded in chunks (three, and the audio).
    const metrics = await (await fetch(`http://127.0.0.1:${transcoder.port}/metrics`)).text()
    expect(metrics).toMatch(/^video_chunks_processed_total\{status="completed"[^}]*\} [1-9]/m)
    await checkQuality(job, clips.long)
  })
})
