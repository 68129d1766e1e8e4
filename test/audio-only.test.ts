/**
 * The `audio` profile through the real pipeline, in both engines: an M4A of AAC stereo as long as
 * the video, listed in the outputs with no size, and an audio-only variant last in the HLS master
 * whose playlist (byte ranges of the M4A) ffprobe reads. A source without audio skips it, saying
 * why. Real redis-server, real ffmpeg, real HTTP. (hls.js leaves audio-only levels out when there
 * are video ones, so the master is checked as text, and its audio playlist with ffprobe.)
 */
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { Job } from '@vpp/shared'
import { makeClip, startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type Pipeline, startPipeline } from './harness.ts'

const run = promisify(execFile)
let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let pipeline: Pipeline | undefined
const clips = { short: '', long: '', silent: '' }

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
  ;[clips.short, clips.long, clips.silent] = await Promise.all([
    makeClip(`${dir.path}/short.mp4`, { width: 320, height: 240, seconds: 3, audio: true }),
    makeClip(`${dir.path}/long.mp4`, { width: 320, height: 240, seconds: 6, audio: true }),
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

interface Probed {
  streams: Array<{ codec_type: string; codec_name: string; channels?: number; duration?: string }>
  format: { duration?: string }
}

async function probe(path: string): Promise<Probed> {
  const { stdout } = await run('ffprobe', [
    ...['-v', 'error', '-protocol_whitelist', 'file', '-print_format', 'json'],
    ...['-show_entries', 'stream=codec_type,codec_name,channels,duration:format=duration', path],
  ])
  return JSON.parse(stdout) as Probed
}

async function create(clip: string, profiles: string): Promise<Job> {
  if (!pipeline) throw new Error('no pipeline')
  const form = new FormData()
  form.append('file', new Blob([await readFile(clip)]), 'clip.mp4')
  form.append('profiles', profiles)
  const res = await fetch(`${pipeline.ingest}/upload`, { method: 'POST', body: form })
  expect(res.status).toBe(202)
  const { job_id } = (await res.json()) as { job_id: string }
  const job = await pipeline.waitFor(job_id, ['completed', 'failed'], 90_000)
  expect(job.status, job.error).toBe('completed')
  return job
}

/** The M4A: AAC, stereo, as long as the video (50 ms); the master's last variant, audio only, readable. */
async function checkAudioOnly(job: Job): Promise<void> {
  const audio = job.outputs.find((o) => o.profile === 'audio')
  const video = job.outputs.find((o) => o.profile === 'original')
  expect(audio).toMatchObject({ width: null, height: null, codec: 'aac' })
  if (!audio || !video) throw new Error('missing outputs')
  expect(audio.path.endsWith('/audio.m4a')).toBe(true)
  const m4a = await probe(audio.path)
  expect(m4a.streams).toEqual([
    expect.objectContaining({ codec_type: 'audio', codec_name: 'aac', channels: 2 }),
  ])
  const videoStream = (await probe(video.path)).streams.find((s) => s.codec_type === 'video')
  const seconds = Number(m4a.format.duration)
  expect(
    Math.abs(seconds - Number(videoStream?.duration)),
    `${seconds} against ${videoStream?.duration}`,
  ).toBeLessThanOrEqual(0.05)
  expect(Math.abs((audio.duration ?? 0) - seconds)).toBeLessThan(0.01)

  const hls = job.outputs.find((o) => o.profile === 'hls')
  if (!hls) throw new Error('no hls output')
  const master = (await readFile(hls.path, 'utf8')).trim().split('\n')
  expect(master.slice(-2)).toEqual([
    expect.stringMatching(/^#EXT-X-STREAM-INF:BANDWIDTH=\d+,AVERAGE-BANDWIDTH=\d+,CODECS="mp4a\.40\.2"$/),
    'audio.m3u8',
  ])
  const playlist = join(hls.path, '..', 'audio.m3u8')
  expect(await readFile(playlist, 'utf8')).toContain('#EXT-X-MAP:URI="../audio.m4a",BYTERANGE=')
  const viaHls = await probe(playlist)
  expect(viaHls.streams).toEqual([expect.objectContaining({ codec_name: 'aac', channels: 2 })])
  expect(Math.abs(Number(viaHls.format.duration) - seconds)).toBeLessThanOrEqual(0.05)
}

describe('the audio profile', () => {
  it('makes an M4A and an audio-only HLS variant in a single run; skips it for a source without audio', async () => {
    pipeline = await startPipeline(redis, `${dir.path}/one-run`, { CHUNK_SECONDS: '0' })
    await pipeline.transcoder()
    await checkAudioOnly(await create(clips.short, 'original,hls,audio'))
    const silent = await create(clips.silent, 'original,audio')
    expect(silent.outputs.map((o) => o.profile)).toEqual(['original'])
    expect(silent.skipped).toEqual([{ profile: 'audio', reason: 'the source has no audio' }])
  })

  it('makes them from the audio item in the chunked engine (copied, not encoded again)', async () => {
    pipeline = await startPipeline(redis, `${dir.path}/chunked`, { CHUNK_SECONDS: '2' })
    const transcoder = await pipeline.transcoder()
    await checkAudioOnly(await create(clips.long, 'original,hls,audio'))
    const metrics = await (await fetch(`http://127.0.0.1:${transcoder.port}/metrics`)).text()
    expect(metrics).toMatch(/^video_chunks_processed_total\{status="completed"[^}]*\} [1-9]/m)
    // The audio alone, nothing else: one run (no video to cut), the M4A as long as the source.
    const alone = await create(clips.long, 'audio')
    expect(alone.outputs.map((o) => [o.profile, o.codec, o.width])).toEqual([['audio', 'aac', null]])
    expect(Math.abs((alone.outputs[0]?.duration ?? 0) - 6)).toBeLessThanOrEqual(0.05)
  })
})
