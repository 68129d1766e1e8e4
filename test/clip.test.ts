/**
 * A clip (`clip: {start, end}`) through the whole pipeline, in both engines: every rendition is
 * the clip's length to a frame, its audio starts and ends with its video, its first frame is the
 * source's frame at `start` (a start between sparse keyframes too), the chunked engine encodes the
 * clip's chunks only; a clip past the end fails the job for good; an empty or reversed one is
 * refused at create on every path. Real redis-server, ffmpeg, ffprobe and HTTP.
 */
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Pipeline, startPipeline } from './harness.ts'

const run = promisify(execFile)
const FPS = 24
const FRAME = 1 / FPS
/** Seconds between the source's keyframes: a clip start falls between two. */
const GOP_SECONDS = 5
let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let pipeline: Pipeline
let source = ''
let files: Server
let filesUrl = ''
let transcoderPort = 0

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
  source = join(dir.path, 'source.mp4')
  // biome-ignore format: flag and value on one line
  await run('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    // Brightness that moves with time: a frame from elsewhere in the video does not look alike.
    '-f', 'lavfi', '-i', `testsrc2=size=854x480:rate=${FPS}:duration=20,eq=brightness='0.4*sin(2*PI*t/7)':eval=frame`,
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=20',
    '-c:v', 'libx264', '-preset', 'ultrafast',
    '-g', String(GOP_SECONDS * FPS), '-keyint_min', String(GOP_SECONDS * FPS), '-sc_threshold', '0',
    '-c:a', 'aac', '-b:a', '96k', source,
  ])
  // Chunks of 2 s: a clip of 4 s or more is encoded in chunks, a shorter one in one run.
  pipeline = await startPipeline(redis, join(dir.path, 'data'), {
    CHUNK_SECONDS: '2',
    URL_IMPORT_ALLOW_PRIVATE: 'true',
    TRANSCODE_PROFILES: '480p,360p,hls,thumbnail,storyboard',
  })
  transcoderPort = (await pipeline.transcoder()).port
  files = createServer(async (_req, res) =>
    res.writeHead(200, { 'content-type': 'video/mp4' }).end(await readFile(source)),
  )
  await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve))
  filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}/source.mp4`
}, 120_000)
afterAll(async () => {
  await pipeline?.close()
  await new Promise((resolve) => files?.close(resolve))
  await redis?.stop()
  await dir?.remove()
})

async function uploadWith(fields: Record<string, string>) {
  const form = new FormData()
  for (const [name, value] of Object.entries(fields)) form.append(name, value)
  form.append('file', new Blob([await readFile(source)]), 'source.mp4')
  return fetch(`${pipeline.ingest}/upload`, { method: 'POST', body: form })
}

const importWith = (body: Record<string, unknown>) =>
  fetch(`${pipeline.ingest}/upload-url`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

/** Chunk work items completed so far (chunks and audio items), from the transcoder's metrics. */
async function chunkItemsDone(): Promise<number> {
  const metrics = await (await fetch(`http://127.0.0.1:${transcoderPort}/metrics`)).text()
  const line = metrics
    .split('\n')
    .find((l) => l.startsWith('video_chunks_processed_total{status="completed"'))
  return Number(line?.split(' ').pop() ?? 0)
}

/** Start and duration of a file's first video and first audio stream, as ffprobe says. */
async function streams(path: string) {
  const { stdout } = await run('ffprobe', [
    ...['-v', 'error', '-show_entries', 'stream=codec_type,start_time,duration', '-of', 'json', path],
  ])
  const listed = (JSON.parse(stdout) as { streams: Array<Record<string, string>> }).streams
  const of = (type: string) => {
    const stream = listed.find((s) => s.codec_type === type)
    return { start: Number(stream?.start_time), duration: Number(stream?.duration) }
  }
  return { video: of('video'), audio: of('audio') }
}

/** SSIM of two images of the same size. */
async function ssim(a: string, b: string): Promise<number> {
  const { stderr } = await run('ffmpeg', [
    '-hide_banner',
    '-i',
    a,
    '-i',
    b,
    '-lavfi',
    'ssim',
    '-f',
    'null',
    '-',
  ])
  return Number(/All:(\d+(?:\.\d+)?)/.exec(stderr)?.[1])
}

/**
 * Which source frame a rendition's first frame is: of the source's frames around `expected` and
 * the keyframe before it (where a cut that is not frame-accurate starts), the one it looks most
 * like (SSIM).
 */
async function firstFrameIs(rendition: string, expected: number): Promise<number> {
  const first = join(dir.path, `first-${Math.random().toString(36).slice(2)}.png`)
  await run('ffmpeg', ['-v', 'error', '-i', rendition, '-frames:v', '1', first])
  const around = join(dir.path, `around-${Math.random().toString(36).slice(2)}`)
  // biome-ignore format: flag and value on one line
  await run('ffmpeg', [
    '-v', 'error', '-i', source,
    '-vf', `select='between(n,${expected - 2},${expected + 2})'`, '-fps_mode', 'passthrough',
    '-start_number', String(expected - 2), `${around}-%d.png`,
  ])
  const keyframe = Math.floor(expected / (GOP_SECONDS * FPS)) * GOP_SECONDS * FPS
  // biome-ignore format: flag and value on one line
  await run('ffmpeg', [
    '-v', 'error', '-i', source, '-vf', `select='eq(n,${keyframe})'`, '-fps_mode', 'passthrough',
    '-frames:v', '1', `${around}-${keyframe}.png`,
  ])
  let best = -1
  let bestScore = -1
  for (const n of [keyframe, expected - 2, expected - 1, expected, expected + 1, expected + 2]) {
    const score = await ssim(first, `${around}-${n}.png`)
    if (score > bestScore) [best, bestScore] = [n, score]
  }
  return best
}

/** Every rendition of a completed job: the clip's length to a frame, audio in step, frame-accurate. */
async function expectClipped(id: string, clip: { start: number; end: number }) {
  const job = await pipeline.waitFor(id, ['completed', 'failed'], 180_000)
  expect(job.status, job.error).toBe('completed')
  expect(job.clip).toEqual(clip)
  const length = clip.end - clip.start
  const out = join(pipeline.env.DATA_DIR ?? '', 'output', id)
  for (const rung of ['480p', '360p']) {
    const output = job.outputs.find((o) => o.profile === rung)
    expect(Math.abs((output?.duration ?? 0) - length), `${rung} in the record`).toBeLessThanOrEqual(FRAME)
    // Measured against the source from the clip's start: a source read from 0 scores far lower.
    expect(output?.ssim, `${rung} SSIM`).toBeGreaterThan(0.95)
    const { video, audio } = await streams(join(out, `${rung}.mp4`))
    expect(Math.abs(video.duration - length), `${rung} video`).toBeLessThanOrEqual(FRAME)
    expect(Math.abs(audio.start - video.start), `${rung} audio start`).toBeLessThanOrEqual(FRAME)
    expect(Math.abs(audio.duration - video.duration), `${rung} audio length`).toBeLessThanOrEqual(FRAME)
  }
  // The first frame at or after `start`: the source's, not one a keyframe or a frame off.
  const expected = Math.ceil(clip.start * FPS - 1e-9)
  expect(await firstFrameIs(join(out, '480p.mp4'), expected)).toBe(expected)
  // The storyboard covers the clip: its last cue ends at the clip's length.
  const cues = await readFile(join(out, 'storyboard.vtt'), 'utf8')
  const ends = [...cues.matchAll(/--> (\d+):(\d+):(\d+\.\d+)/g)].map(
    ([, h, m, s]) => Number(h) * 3600 + Number(m) * 60 + Number(s),
  )
  expect(Math.abs((ends.at(-1) ?? 0) - length)).toBeLessThanOrEqual(1)
  expect(job.outputs.map((o) => o.profile)).toEqual(
    expect.arrayContaining(['480p', '360p', 'hls', 'thumbnail', 'storyboard']),
  )
  return job
}

describe('a clip', () => {
  it('in one run (shorter than two chunks, from a URL import): the clip only, frame-accurate, audio in step', async () => {
    const clip = { start: 7.3, end: 10.6 }
    const res = await importWith({ url: filesUrl, clip })
    expect(res.status).toBe(202)
    const { job_id } = (await res.json()) as { job_id: string }
    await expectClipped(job_id, clip)
    // The clip's length decided (the source is 20 s): one run, no chunk item.
    expect(await chunkItemsDone()).toBe(0)
  }, 180_000)

  it('in chunks: only the clip chunks are encoded, the first from a start between keyframes', async () => {
    // 7.3-15.3 s: 2 s lead chunks at 7.3 and 9.3, then 11.3 to the end (no keyframe to cut at
    // short of it: they are at 10 and 15 s). Three chunks of the source's ten.
    const clip = { start: 7.3, end: 15.3 }
    const res = await uploadWith({ clip: '7.3-15.3', profiles: '480p,360p,hls,thumbnail,storyboard' })
    expect(res.status).toBe(202)
    const { job_id } = (await res.json()) as { job_id: string }
    await expectClipped(job_id, clip)
    // The growing stream's playlists name each chunk's segments: three chunks, from c00000.
    const rung = await readFile(
      join(pipeline.env.DATA_DIR ?? '', 'output', job_id, 'hls', '360p', 'index.m3u8'),
      'utf8',
    )
    const chunks = new Set([...rung.matchAll(/(c\d{5})-l\d+-\d{3}\.m4s/g)].map((m) => m[1]))
    expect([...chunks]).toEqual(['c00000', 'c00001', 'c00002'])
    // And no other item: those three chunks and the audio.
    expect(await chunkItemsDone()).toBe(4)
  }, 180_000)

  it('past the end fails the job for good, at once, saying both lengths', async () => {
    const res = await uploadWith({ clip: '15-95', profiles: '360p' })
    expect(res.status).toBe(202)
    const { job_id } = (await res.json()) as { job_id: string }
    const job = await pipeline.waitFor(job_id, ['completed', 'failed'], 60_000)
    expect(job.status).toBe('failed')
    expect(job.error_code).toBe('clip_out_of_range')
    expect(job.error).toBe('clip ends at 95 s; the video is 20 s long')
    expect(job.attempts).toBe(1)
  }, 60_000)

  it('empty or reversed is refused at create on every path: /upload, tus, /upload-url', async () => {
    const multipart = await uploadWith({ clip: '30-10' })
    expect(multipart.status).toBe(400)
    expect(await multipart.json()).toMatchObject({
      error: 'bad_request',
      message: expect.stringContaining('clip'),
    })
    const tus = await fetch(`${pipeline.ingest}/uploads`, {
      method: 'POST',
      headers: {
        'Tus-Resumable': '1.0.0',
        'Upload-Length': '1000',
        'Upload-Metadata': `filename ${btoa('a.mp4')},clip ${btoa('5-5')}`,
      },
    })
    expect(tus.status).toBe(400)
    expect(await tus.json()).toMatchObject({ error: 'bad_request', message: expect.stringContaining('clip') })
    const imported = await importWith({ url: filesUrl, clip: { start: 3, end: 2 } })
    expect(imported.status).toBe(400)
    expect(await imported.json()).toMatchObject({
      error: 'bad_request',
      message: expect.stringContaining('clip'),
    })
  })
})
