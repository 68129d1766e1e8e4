/**
 * The whole pipeline over real HTTP: ingest, status and a transcoder on free loopback ports, a
 * real redis-server, real ffmpeg on clips generated here.
 */
import { existsSync } from 'node:fs'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type Job, StatsSchema, UploadResponseSchema } from '@vpp/shared'
import { makeClip, probeFile, startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Pipeline, startPipeline } from './harness.ts'

const CAMERA_CLIP = new URL('../../shared/media/bird.mkv', import.meta.url).pathname

let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let pipeline: Pipeline
let transcoderMetrics: string
let fileServer: Server
let fileServerUrl: string
const clips = { hd: '', small: '', fake: '' }

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
  ;[clips.hd, clips.small] = await Promise.all([
    makeClip(`${dir.path}/hd.mp4`, { width: 1920, height: 1080, seconds: 2, audio: true }),
    makeClip(`${dir.path}/small.mp4`, { width: 640, height: 360, seconds: 2, audio: false }),
  ])
  clips.fake = `${dir.path}/notes.mp4`
  await writeFile(clips.fake, 'These are my meeting notes, not a video.\n')

  pipeline = await startPipeline(redis, `${dir.path}/data`, {
    WORKER_CONCURRENCY: '2',
    MAX_FILE_SIZE: '20MB',
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
  const probed: Record<string, { format: string; video: string; size: string; audio: string | undefined }> =
    {}
  for (const output of job.outputs) {
    const { streams, format } = await probeFile(output.path)
    const video = streams.find((s) => s.codec_type === 'video')
    probed[output.profile] = {
      format: format.format_name,
      video: video?.codec_name ?? 'none',
      size: `${video?.width}x${video?.height}`,
      audio: streams.find((s) => s.codec_type === 'audio')?.codec_name,
    }
  }
  return probed
}

describe('upload -> stream -> ffmpeg -> status', () => {
  it('turns a 1080p upload with audio into the five seed renditions', async () => {
    const job = await waitForJob(await upload(clips.hd))
    expect(job.status).toBe('completed')
    expect(job.attempts).toBe(1)
    expect(job.error).toBeUndefined()
    expect(job.outputs.map((o) => o.profile)).toEqual(['720p', '480p', '360p', 'thumbnail', 'webm_720p'])
    for (const output of job.outputs) {
      expect(output.path).toMatch(
        new RegExp(`/data/output/${job.job_id}/${output.profile}\\.(mp4|webm|jpg)$`),
      )
      expect(output.size_bytes).toBeGreaterThan(1000)
    }
    expect(await probeOutputs(job)).toEqual({
      '720p': { format: 'mov,mp4,m4a,3gp,3g2,mj2', video: 'h264', size: '1280x720', audio: 'aac' },
      '480p': { format: 'mov,mp4,m4a,3gp,3g2,mj2', video: 'h264', size: '854x480', audio: 'aac' },
      '360p': { format: 'mov,mp4,m4a,3gp,3g2,mj2', video: 'h264', size: '640x360', audio: 'aac' },
      webm_720p: { format: 'matroska,webm', video: 'vp9', size: '1280x720', audio: 'opus' },
      thumbnail: { format: 'image2', video: 'mjpeg', size: '320x180', audio: undefined },
    })
    const mp4 = job.outputs.find((o) => o.profile === '720p')
    expect(mp4).toMatchObject({ width: 1280, height: 720, codec: 'h264' })
    expect(mp4?.duration).toBeCloseTo(2, 0)
  })

  it('transcodes a clip without audio into outputs without audio', async () => {
    const job = await waitForJob(await upload(clips.small))
    expect(job.status).toBe('completed')
    const probed = await probeOutputs(job)
    expect(probed['360p']).toEqual({
      format: 'mov,mp4,m4a,3gp,3g2,mj2',
      video: 'h264',
      size: '640x360',
      audio: undefined,
    })
    expect(probed.webm_720p?.audio).toBeUndefined()
    expect(probed.thumbnail?.size).toBe('320x180')
  })

  it('imports a URL (following a redirect) and transcodes it', async () => {
    const res = await importUrl(`${fileServerUrl}/old-link`)
    expect(res.status).toBe(202)
    const { job_id } = UploadResponseSchema.parse(await res.json())
    const job = await waitForJob(job_id)
    expect(job).toMatchObject({ status: 'completed', source: 'url', source_url: `${fileServerUrl}/old-link` })
    expect(job.outputs).toHaveLength(5)
  })

  it('fails a URL import that answers 404 with a readable error', async () => {
    const res = await importUrl(`${fileServerUrl}/missing.mp4`)
    const job = await waitForJob(UploadResponseSchema.parse(await res.json()).job_id)
    expect(job).toMatchObject({ status: 'failed', error: 'Download failed: HTTP 404', outputs: [] })
  })

  it('fails a text file named .mp4 with a readable error, and keeps serving the next job', async () => {
    const bad = await waitForJob(await upload(clips.fake))
    expect(bad.status).toBe('failed')
    expect(bad.error).toBe(
      'Input is not a readable video file (input: Invalid data found when processing input)',
    )
    expect(bad.outputs).toEqual([])
    // Nothing half-written is left where readers look.
    expect(await readdir(`${dir.path}/data/output/${bad.job_id}`).catch(() => [])).toEqual([])

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
      expect(probed.thumbnail?.size).toBe('320x180')
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
