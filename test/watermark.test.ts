/**
 * Watermarks for real: a PNG uploaded with the video (and a stored one), laid over every video
 * rendition and the HLS stream by the single run and by the chunked engine; checked by the
 * pixels of the corner it is in against the same job without it, and of the corner it is not.
 */
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { jobAssetName } from '@vpp/shared'
import {
  makeClip,
  pngBytes,
  pngHeader,
  startTestRedis,
  startTestS3,
  type TestRedis,
  tempDir,
} from '@vpp/shared/testing'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { eventually, type Pipeline, startPipeline } from './harness.ts'

const run = promisify(execFile)
let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let pipeline: Pipeline | undefined
const clips = { short: '', long: '' }
/** Opaque green, twice as wide as high: plain to find in the chroma of testsrc2's reddish corner. */
const GREEN = pngBytes(40, 20, [0, 255, 0, 255])
const PLACEMENT = { position: 'top-left', width: 0.2, margin: 0.02 }

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
  ;[clips.short, clips.long] = await Promise.all([
    makeClip(`${dir.path}/short.mp4`, { width: 854, height: 480, seconds: 3, audio: true }),
    makeClip(`${dir.path}/long.mp4`, { width: 854, height: 480, seconds: 8, audio: true }),
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

/** `POST /upload` of `video`, with these extra parts (a Blob is a file part). */
async function upload(p: Pipeline, video: string, extra: Record<string, string | Blob> = {}) {
  const form = new FormData()
  form.append('file', new Blob([await readFile(video)]), 'video.mp4')
  for (const [name, value] of Object.entries(extra))
    value instanceof Blob ? form.append(name, value, 'logo.png') : form.append(name, value)
  const res = await fetch(`${p.ingest}/upload`, { method: 'POST', body: form })
  const body = (await res.json()) as { job_id: string }
  expect(res.status, JSON.stringify(body)).toBe(202)
  return body.job_id
}

/**
 * Mean U and V of a region of the frame at 1 s: `corner` (top-left or bottom-right) of a
 * rendition `width` x `height`, inside where the watermark goes (0.2 of the width, from 0.02 in).
 */
async function chroma(path: string, width: number, height: number, corner: 'top-left' | 'bottom-right') {
  const w = Math.round(width * 0.1)
  const h = Math.round(width * 0.04)
  const x = corner === 'top-left' ? Math.round(width * 0.05) : width - Math.round(width * 0.05) - w
  const y = corner === 'top-left' ? Math.round(width * 0.04) : height - Math.round(width * 0.04) - h
  const { stdout } = await run('ffmpeg', [
    ...['-v', 'error', '-ss', '1', '-i', path, '-frames:v', '1'],
    ...['-vf', `crop=${w}:${h}:${x}:${y},signalstats,metadata=print:file=-`, '-f', 'null', '-'],
  ])
  return { u: Number(/UAVG=([\d.]+)/.exec(stdout)?.[1]), v: Number(/VAVG=([\d.]+)/.exec(stdout)?.[1]) }
}

/** Each video rendition of `marked` against the same of `plain`: green in its corner, nothing in the other. */
async function expectWatermarked(
  p: Pipeline,
  marked: string,
  plain: string,
  rendition = (id: string, profile: string) => join(p.env.DATA_DIR ?? '', 'output', id, `${profile}.mp4`),
  names = ['360p', '480p'],
) {
  const [a, b] = await Promise.all([
    p.waitFor(marked, ['completed', 'failed']),
    p.waitFor(plain, ['completed', 'failed']),
  ])
  expect([a.status, a.error], JSON.stringify(a)).toEqual(['completed', undefined])
  expect(b.status).toBe('completed')
  const rungs = a.outputs.filter((o) => names.includes(o.profile))
  expect(rungs.map((o) => o.profile).sort()).toEqual(names)
  // The HLS rungs are byte ranges of these same MP4s.
  expect(a.outputs.some((o) => o.profile === 'hls')).toBe(true)
  const file = rendition
  for (const { profile, width, height } of rungs) {
    const [markedIn, plainIn, markedOut, plainOut] = await Promise.all([
      chroma(file(marked, profile), width ?? 0, height ?? 0, 'top-left'),
      chroma(file(plain, profile), width ?? 0, height ?? 0, 'top-left'),
      chroma(file(marked, profile), width ?? 0, height ?? 0, 'bottom-right'),
      chroma(file(plain, profile), width ?? 0, height ?? 0, 'bottom-right'),
    ])
    // Green: V (Cr) and U (Cb) both low (34 and 42 in limited range); the source's corner is reddish.
    expect(markedIn.v, `${profile} V in the corner`).toBeLessThan(60)
    expect(markedIn.u, `${profile} U in the corner`).toBeLessThan(60)
    expect(plainIn.v - markedIn.v, `${profile} V against no watermark`).toBeGreaterThan(100)
    expect(Math.abs(markedOut.v - plainOut.v), `${profile} V in the other corner`).toBeLessThan(3)
    expect(Math.abs(markedOut.u - plainOut.u), `${profile} U in the other corner`).toBeLessThan(3)
  }
}

describe('a watermark', () => {
  it('is laid over every rung and the HLS stream, by the single run and in chunks', async () => {
    pipeline = await startPipeline(redis, `${dir.path}/both`, {
      CHUNK_SECONDS: '2',
      TRANSCODE_PROFILES: '480p,360p,hls',
    })
    const p = pipeline
    await p.transcoder()
    const watermark = JSON.stringify(PLACEMENT)
    // The single run (3 s: less than two chunks), the PNG uploaded with the video, after it.
    const single = await upload(p, clips.short, { watermark, watermark_image: new Blob([GREEN]) })
    const singlePlain = await upload(p, clips.short)
    await expectWatermarked(p, single, singlePlain)
    // In chunks (8 s of 2 s chunks), a stored PNG named by its id.
    const form = new FormData()
    form.append('file', new Blob([GREEN]), 'logo.png')
    const stored = (await (await fetch(`${p.ingest}/watermarks`, { method: 'POST', body: form })).json()) as {
      watermark_id: string
    }
    const chunked = await upload(p, clips.long, {
      watermark: JSON.stringify({ ...PLACEMENT, image: stored.watermark_id }),
    })
    const chunkedPlain = await upload(p, clips.long)
    await expectWatermarked(p, chunked, chunkedPlain)
    const job = await p.waitFor(chunked, ['completed'])
    expect(job.watermark).toEqual({ ...PLACEMENT, image: stored.watermark_id })
    // It was encoded in chunks: the stream published as they came names their segments.
    const growing = join(p.env.DATA_DIR ?? '', 'output', chunked, 'hls', '360p', 'index.m3u8')
    expect((await readFile(growing, 'utf8')).match(/c\d{5}-l\d+-000\.m4s/g)?.length).toBeGreaterThanOrEqual(4)
  }, 240_000)

  it("is laid over the chunks on S3, and the job's copy of the PNG goes with its upload", async () => {
    const s3 = await startTestS3()
    try {
      pipeline = await startPipeline(redis, `${dir.path}/s3`, {
        ...s3.env,
        CHUNK_SECONDS: '2',
        TRANSCODE_PROFILES: '360p,hls',
      })
      const p = pipeline
      await p.transcoder()
      const marked = await upload(p, clips.long, {
        watermark: JSON.stringify(PLACEMENT),
        watermark_image: new Blob([GREEN]),
      })
      const plain = await upload(p, clips.long)
      const storage = s3.storage(join(dir.path, 's3-scratch'))
      // A presigned URL on the bucket, as a player gets it.
      const url = async (id: string, profile: string) =>
        (await p.waitFor(id, ['completed'])).outputs.find((o) => o.profile === profile)?.url ?? ''
      const urls = new Map<string, string>()
      for (const id of [marked, plain]) urls.set(id, await url(id, '360p'))
      await expectWatermarked(p, marked, plain, (id) => urls.get(id) ?? '', ['360p'])
      // Removed with the upload, right after the job is recorded complete.
      const copy = jobAssetName(marked, 'watermark.png')
      await eventually(async () => (await storage.readAsset(copy)) === null, 5000, "the job's copy removed")
      storage.close()
    } finally {
      await pipeline?.close()
      pipeline = undefined
      await s3.stop()
    }
  }, 240_000)

  it('fails the job as invalid_watermark when its PNG does not decode (a header and no pixels)', async () => {
    pipeline = await startPipeline(redis, `${dir.path}/broken`, { TRANSCODE_PROFILES: '360p' })
    const p = pipeline
    await p.transcoder()
    const id = await upload(p, clips.short, { watermark_image: new Blob([pngHeader(64, 64)]) })
    const job = await p.waitFor(id, ['completed', 'failed'])
    expect(job.status).toBe('failed')
    expect(job.error_code).toBe('invalid_watermark')
    expect(job.error).toMatch(/^The watermark image is not a PNG ffmpeg can decode/)
    expect(job.error).not.toContain(dir.path)
  }, 60_000)
})
