/**
 * The whole pipeline over real HTTP: ingest, status and a transcoder on free loopback ports, a
 * real redis-server, real ffmpeg on clips generated here.
 */
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type Job, StatsSchema, UploadResponseSchema } from '@vpp/shared'
import { MP4_HEAD, makeClip, probeFile, startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Pipeline, startPipeline } from './harness.ts'

const CAMERA_CLIP = new URL('../../shared/media/bird.mkv', import.meta.url).pathname

let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let pipeline: Pipeline
let transcoderMetrics: string
let fileServer: Server
let fileServerUrl: string
const clips = { hd: '', small: '', notes: '', fake: '', portrait: '', deep: '', tiny: '', long: '' }

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
  ;[clips.hd, clips.small, clips.portrait, clips.deep, clips.tiny, clips.long] = await Promise.all([
    makeClip(`${dir.path}/hd.mp4`, { width: 1920, height: 1080, seconds: 2, audio: true }),
    makeClip(`${dir.path}/small.mp4`, { width: 640, height: 360, seconds: 2, audio: false }),
    // A phone held upright: 640x360 frames shown turned a quarter, 360x640.
    makeClip(`${dir.path}/portrait.mp4`, { width: 640, height: 360, seconds: 1, audio: false, rotate: 90 }),
    // 10-bit 4:2:2 video with 5.1 sound.
    makeClip(`${dir.path}/deep.mp4`, {
      width: 640,
      height: 360,
      seconds: 1,
      audio: true,
      pixFmt: 'yuv422p10le',
      channels: 6,
    }),
    makeClip(`${dir.path}/tiny.mp4`, { width: 320, height: 180, seconds: 1, audio: false }),
    makeClip(`${dir.path}/long.mp4`, { width: 1280, height: 720, seconds: 6, audio: true }),
  ])
  clips.notes = `${dir.path}/notes.mp4`
  await writeFile(clips.notes, 'These are my meeting notes, not a video.\n')
  // Starts like an MP4 (passes the upload's content check); ffprobe finds no movie in it.
  clips.fake = `${dir.path}/fake.mp4`
  await writeFile(clips.fake, Buffer.concat([MP4_HEAD, Buffer.from('These are my meeting notes.\n')]))

  pipeline = await startPipeline(redis, `${dir.path}/data`, {
    WORKER_CONCURRENCY: '2',
    MAX_FILE_SIZE: '20MB',
    // The local file server stands in for the internet (test/hostile.test.ts keeps the default).
    URL_IMPORT_ALLOW_PRIVATE: 'true',
  })
  transcoderMetrics = `http://127.0.0.1:${(await pipeline.transcoder()).port}/metrics`

  // A plain HTTP server for URL imports.
  fileServer = createServer(async (req, res) => {
    if (req.url === '/media/small.mp4') {
      res.writeHead(200, { 'content-type': 'video/mp4' }).end(await readFile(clips.small))
    } else if (req.url === '/old-link') {
      res.writeHead(302, { location: '/media/small.mp4' }).end()
    } else res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => fileServer.listen(0, '127.0.0.1', resolve))
  fileServerUrl = `http://127.0.0.1:${(fileServer.address() as AddressInfo).port}`
})

afterAll(async () => {
  await pipeline?.close()
  await new Promise((resolve) => fileServer?.close(resolve))
  await redis?.stop()
  await dir?.remove()
})

/** Upload a file and check the 202 body names it. */
async function upload(path: string, name = path.split('/').pop() ?? 'x'): Promise<string> {
  const res = await pipeline.uploadResponse(path, name)
  expect(res.status).toBe(202)
  const body = UploadResponseSchema.parse(await res.json())
  expect(body.filename).toBe(name)
  return body.job_id
}

const waitForJob = (id: string) => pipeline.waitFor(id, ['completed', 'failed'])

async function importUrl(url: string): Promise<Response> {
  return fetch(`${pipeline.ingest}/upload-url`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ url }),
  })
}

/** What ffprobe says about each output of a job, by profile. */
async function probeOutputs(job: Job) {
  type Probed = { format: string; video: string; size: string; audio: string | undefined }
  const probed: Record<string, Probed & { pixFmt?: string; channels?: number }> = {}
  // The packaged outputs (playlists, WebVTT) have tests of their own (test/hls.test.ts).
  for (const output of job.outputs.filter((o) => o.profile !== 'hls' && o.profile !== 'storyboard')) {
    const { streams, format } = await probeFile(output.path)
    const video = streams.find((s) => s.codec_type === 'video')
    const audio = streams.find((s) => s.codec_type === 'audio')
    // The record is written from the plan and ffmpeg's report, not from probing: it must agree.
    expect(`${output.width}x${output.height}`, output.profile).toBe(`${video?.width}x${video?.height}`)
    expect(output.codec, output.profile).toBe(video?.codec_name)
    probed[output.profile] = {
      format: format.format_name,
      video: video?.codec_name ?? 'none',
      size: `${video?.width}x${video?.height}`,
      audio: audio?.codec_name,
    }
    Object.defineProperties(probed[output.profile], {
      pixFmt: { value: video?.pix_fmt, enumerable: false },
      channels: { value: audio?.channels, enumerable: false },
    })
  }
  return probed
}

describe('upload -> stream -> ffmpeg -> status', () => {
  it('turns a 1080p upload with audio into the ladder from 1080p down, VP9 at its own size, HLS and a storyboard', async () => {
    const job = await waitForJob(await upload(clips.hd))
    expect(job).toMatchObject({ status: 'completed', attempts: 1, progress: 100 })
    expect(job.skipped).toEqual([{ profile: '1440p', reason: 'source is 1920x1080; 1440p would upscale it' }])
    expect(job.error).toBeUndefined()
    expect(job.eta_seconds).toBeUndefined()
    expect(job.outputs.map((o) => o.profile)).toEqual([
      '1080p',
      '720p',
      '480p',
      '360p',
      'thumbnail',
      'webm_original',
      'webm_720p',
      'hls',
      'storyboard',
    ])
    for (const output of job.outputs) {
      expect(output.path).toMatch(
        new RegExp(`/data/output/${job.job_id}/(${output.profile}\\.(mp4|webm|jpg|vtt)|hls/master\\.m3u8)$`),
      )
      expect(output.size_bytes).toBeGreaterThan(1000)
    }
    expect(await probeOutputs(job)).toEqual({
      '1080p': { format: 'mov,mp4,m4a,3gp,3g2,mj2', video: 'h264', size: '1920x1080', audio: 'aac' },
      '720p': { format: 'mov,mp4,m4a,3gp,3g2,mj2', video: 'h264', size: '1280x720', audio: 'aac' },
      '480p': { format: 'mov,mp4,m4a,3gp,3g2,mj2', video: 'h264', size: '854x480', audio: 'aac' },
      '360p': { format: 'mov,mp4,m4a,3gp,3g2,mj2', video: 'h264', size: '640x360', audio: 'aac' },
      webm_original: { format: 'matroska,webm', video: 'vp9', size: '1920x1080', audio: 'opus' },
      webm_720p: { format: 'matroska,webm', video: 'vp9', size: '1280x720', audio: 'opus' },
      thumbnail: { format: 'image2', video: 'mjpeg', size: '320x180', audio: undefined },
    })
    const mp4 = job.outputs.find((o) => o.profile === '720p')
    expect(mp4).toMatchObject({ width: 1280, height: 720, codec: 'h264' })
    expect(mp4?.duration).toBeCloseTo(2, 0)
    expect(mp4?.bitrate).toBeGreaterThan(500_000)
    expect(job.outputs.find((o) => o.profile === 'thumbnail')).toMatchObject({
      duration: null,
      bitrate: null,
    })
    // Published: the upload is no longer needed.
    expect(existsSync(`${dir.path}/data/uploads/${job.job_id}`)).toBe(false)
  })

  it('never upscales: a 360p source without audio skips the taller profiles, with the reason', async () => {
    const job = await waitForJob(await upload(clips.small))
    expect(job.status).toBe('completed')
    expect(job.skipped).toEqual([
      { profile: '1440p', reason: 'source is 640x360; 1440p would upscale it' },
      { profile: '1080p', reason: 'source is 640x360; 1080p would upscale it' },
      { profile: '720p', reason: 'source is 640x360; 720p would upscale it' },
      { profile: '480p', reason: 'source is 640x360; 480p would upscale it' },
      { profile: 'webm_720p', reason: 'source is 640x360; webm_720p would upscale it' },
    ])
    expect(await probeOutputs(job)).toEqual({
      '360p': { format: 'mov,mp4,m4a,3gp,3g2,mj2', video: 'h264', size: '640x360', audio: undefined },
      thumbnail: { format: 'image2', video: 'mjpeg', size: '320x180', audio: undefined },
      // VP9 at the source's own size stands in for the webm_720p it could not have.
      webm_original: { format: 'matroska,webm', video: 'vp9', size: '640x360', audio: undefined },
    })
  })

  it('keeps a portrait phone video portrait', async () => {
    const job = await waitForJob(await upload(clips.portrait))
    expect(job.status).toBe('completed')
    const probed = await probeOutputs(job)
    expect(probed['360p']?.size).toBe('360x640')
    const thumbnail = job.outputs.find((o) => o.profile === 'thumbnail')
    expect(thumbnail?.height).toBe(180)
    expect(thumbnail?.width).toBeLessThan(120) // fitted inside 320x180, not letterboxed
  })

  it('turns 10-bit 4:2:2 video into 8-bit 4:2:0 and 5.1 sound into stereo', async () => {
    const job = await waitForJob(await upload(clips.deep))
    expect(job.status).toBe('completed')
    const probed = await probeOutputs(job)
    expect(probed['360p']?.pixFmt).toBe('yuv420p')
    expect(probed['360p']?.channels).toBe(2)
    expect(probed['360p']?.audio).toBe('aac')
  })

  it('gives a source smaller than every profile one rendition at its own size', async () => {
    const job = await waitForJob(await upload(clips.tiny))
    expect(job.status).toBe('completed')
    expect(job.outputs.map((o) => [o.profile, `${o.width}x${o.height}`])).toEqual([
      ['original', '320x180'],
      ['thumbnail', '320x180'],
      ['webm_original', '320x180'],
      ['hls', '320x180'],
      ['storyboard', '160x90'],
    ])
    expect(job.skipped?.map((s) => s.profile)).toEqual([
      '1440p',
      '1080p',
      '720p',
      '480p',
      '360p',
      'webm_720p',
    ])
  })

  it('shows live progress and an ETA while transcoding', async () => {
    const id = await upload(clips.long)
    const seen: Array<{ progress?: number; eta?: number }> = []
    for (;;) {
      const job = await pipeline.store.get(id)
      if (job?.status === 'processing' && job.progress !== undefined)
        seen.push({ progress: job.progress, eta: job.eta_seconds })
      if (job?.status === 'completed' || job?.status === 'failed') break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const during = seen.filter((s) => (s.progress ?? 0) > 0 && (s.progress ?? 0) < 100)
    expect(during.length).toBeGreaterThan(0)
    expect(during.some((s) => s.eta !== undefined)).toBe(true)
    // It only goes up.
    expect(during.map((s) => s.progress)).toEqual(
      [...during.map((s) => s.progress)].sort((a = 0, b = 0) => a - b),
    )
    expect(await pipeline.store.get(id)).toMatchObject({ status: 'completed', progress: 100 })
  })

  it('imports a URL (following a redirect) and transcodes it', async () => {
    const res = await importUrl(`${fileServerUrl}/old-link`)
    expect(res.status).toBe(202)
    const { job_id } = UploadResponseSchema.parse(await res.json())
    const job = await waitForJob(job_id)
    expect(job).toMatchObject({ status: 'completed', source: 'url', source_url: `${fileServerUrl}/old-link` })
    expect(job.outputs.map((o) => o.profile)).toEqual([
      '360p',
      'thumbnail',
      'webm_original',
      'hls',
      'storyboard',
    ])
  })

  it('fails a URL import that answers 404 with a readable error', async () => {
    const res = await importUrl(`${fileServerUrl}/missing.mp4`)
    const job = await waitForJob(UploadResponseSchema.parse(await res.json()).job_id)
    expect(job).toMatchObject({
      status: 'failed',
      error: 'Download failed: HTTP 404',
      error_code: 'download_failed',
      outputs: [],
    })
  })

  it('refuses a text file named .mp4 at upload (415), fails a fake MP4 readably, and goes on', async () => {
    const notes = await pipeline.uploadResponse(clips.notes, 'notes.mp4')
    expect(notes.status).toBe(415)
    expect((await notes.json()).error).toBe('invalid_file_type')

    const bad = await waitForJob(await upload(clips.fake))
    expect(bad.status).toBe('failed')
    expect(bad.error).toBe(
      'Input is not a readable video file (input: Invalid data found when processing input)',
    )
    expect(bad.outputs).toEqual([])
    // Refused before any output was made (no directory), and the upload is kept for a retry.
    expect(existsSync(`${dir.path}/data/output/${bad.job_id}`)).toBe(false)
    expect(existsSync(`${dir.path}/data/uploads/${bad.job_id}`)).toBe(true)

    const next = await waitForJob(await upload(clips.small, 'after-the-bad-one.mp4'))
    expect(next.status).toBe('completed')
  })

  it.runIf(existsSync(CAMERA_CLIP))(
    'transcodes real camera footage (4:3 Matroska) keeping its aspect ratio',
    async () => {
      const job = await waitForJob(await upload(CAMERA_CLIP))
      expect(job.status).toBe('completed')
      const probed = await probeOutputs(job)
      expect(probed['480p']?.size).toBe('640x480')
      expect(probed['360p']?.size).toBe('480x360')
      expect(probed.thumbnail?.size).toBe('240x180')
      expect(job.skipped?.map((s) => s.profile)).toEqual(['1440p', '1080p', '720p', 'webm_720p'])
    },
  )

  it('reports it all in /stats and /metrics', async () => {
    const stats = StatsSchema.parse(await (await fetch(`${pipeline.status}/stats`)).json())
    expect(stats.queue_depth).toBe(0)
    expect(stats.jobs_by_status.failed).toBe(2)
    expect(stats.dlq_depth).toBe(2)
    expect(stats.jobs_by_status.completed).toBe(stats.total_jobs - 2)
    expect(stats.processing_rate_per_minute).toBeCloseTo(stats.total_jobs / 5, 5)

    const metrics = await (await fetch(transcoderMetrics)).text()
    expect(metrics).toContain(
      `video_jobs_processed_total{status="completed",profile="all",service="transcoder"} ${stats.total_jobs - 2}`,
    )
    expect(metrics).toContain(
      'video_jobs_processed_total{status="failed",profile="all",service="transcoder"} 2',
    )
    expect(metrics).toContain('video_active_jobs{service="transcoder"} 0')
    const statusMetrics = await (await fetch(`${pipeline.status}/metrics`)).text()
    expect(statusMetrics).toContain('processing_queue_size{service="status"} 0')
    expect((await fetch(`${pipeline.ingest}/healthz`)).status).toBe(200)
  })
})
