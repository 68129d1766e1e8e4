/**
 * The whole pipeline on STORAGE_BACKEND=s3, against a real S3-compatible server (s3rver) on
 * loopback: ingest and the transcoder share nothing but Redis and the bucket.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { createLogger, type Job, JobSchema } from '@vpp/shared'
import {
  makeClip,
  probeFile,
  startTestRedis,
  startTestS3,
  type TestRedis,
  type TestS3,
  tempDir,
} from '@vpp/shared/testing'
import { startStatus, loadConfig as statusConfig } from '@vpp/status'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Pipeline, startPipeline } from './harness.ts'

const run = promisify(execFile)

let redis: TestRedis
let s3: TestS3
let dir: Awaited<ReturnType<typeof tempDir>>
let pipeline: Pipeline
let clip = ''
let job: Job

/** A job's media URL on the running status service (the test's PUBLIC_URL port is 0). */
const local = (url: string | null | undefined) => {
  const { pathname } = new URL(url ?? '')
  return `${pipeline.status}${pathname}`
}

/** ffmpeg as the player: every segment of every rung decodes, and it says nothing. */
async function plays(url: string) {
  const { stderr } = await run('ffmpeg', [
    ...['-v', 'error', '-protocol_whitelist', 'http,tcp,file,crypto,data', '-i', url],
    ...['-map', '0', '-f', 'null', '-'],
  ])
  expect(stderr).toBe('')
}

beforeAll(async () => {
  ;[redis, s3, dir] = await Promise.all([startTestRedis(), startTestS3(), tempDir()])
  clip = await makeClip(join(dir.path, 'clip.mp4'), { width: 640, height: 360, seconds: 2, audio: true })
  pipeline = await startPipeline(redis, join(dir.path, 'data'), {
    ...s3.env,
    TRANSCODE_PROFILES: '360p,webm_720p,thumbnail,hls,storyboard',
  })
  await pipeline.transcoder()
})

afterAll(async () => {
  await pipeline?.close()
  await s3?.stop()
  await redis?.stop()
  await dir?.remove()
})

describe('STORAGE_BACKEND=s3', () => {
  it('uploads to the bucket, transcodes from it, and gives each output a presigned URL that fetches', async () => {
    const id = await pipeline.upload(clip, 'holiday.mp4')
    job = await pipeline.waitFor(id, ['completed', 'failed'])
    expect(job.status, job.error).toBe('completed')
    expect(job.outputs.map((o) => [o.profile, o.path])).toEqual([
      ['360p', `outputs/${id}/360p.mp4`],
      ['thumbnail', `outputs/${id}/thumbnail.jpg`],
      // webm_720p would upscale: VP9 at the source's own size instead.
      ['webm_original', `outputs/${id}/webm_original.webm`],
      ['hls', `outputs/${id}/hls/master.m3u8`],
      ['storyboard', `outputs/${id}/storyboard.vtt`],
    ])
    expect(job.skipped?.map((s) => s.profile)).toEqual(['webm_720p'])
    // Files fetched whole are presigned GETs on the bucket; playlists and cues go through status.
    for (const output of job.outputs.filter((o) => !/\.(m3u8|vtt)$/.test(o.path))) {
      const url = new URL(output.url ?? '')
      expect(url.origin + url.pathname).toBe(`${s3.endpoint}/${s3.bucket}/${output.path}`)
      expect(url.searchParams.get('X-Amz-Expires')).toBe('3600')
      expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/)
    }
    expect(new URL(job.playback?.hls ?? '').pathname).toBe(`/media/${id}/hls/master.m3u8`)
    expect(new URL(job.playback?.storyboard ?? '').pathname).toBe(`/media/${id}/storyboard.vtt`)

    // What a player would fetch is the video the record describes.
    const res = await fetch(job.outputs[0]?.url ?? '')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('video/mp4')
    const fetched = join(dir.path, 'fetched.mp4')
    await writeFile(fetched, Buffer.from(await res.arrayBuffer()))
    const { streams, format } = await probeFile(fetched)
    expect(streams.find((s) => s.codec_type === 'video')).toMatchObject({
      codec_name: 'h264',
      width: 640,
      height: 360,
    })
    expect(Number(format.size)).toBe(job.outputs[0]?.size_bytes)

    // The upload is gone from the bucket once the renditions are out; nothing stayed on local disk.
    const storage = s3.storage(join(dir.path, 'scratch'))
    expect(await storage.hasUpload(id)).toBe(false)
    storage.close()
    expect(existsSync(join(dir.path, 'data', 'uploads'))).toBe(false)
    expect(existsSync(join(dir.path, 'data', 'output'))).toBe(false)
    expect(await readdir(join(dir.path, 'data', 'work'))).toEqual([])
  })

  it('plays HLS from the bucket through status: playlists served, segments redirected to presigned GETs', async () => {
    const master = local(job.playback?.hls)
    const playlist = await fetch(master)
    expect(playlist.status).toBe(200)
    expect(playlist.headers.get('content-type')).toBe('application/vnd.apple.mpegurl')
    // A segment, a byte range of the MP4: 302 to a presigned GET, which a Range request follows to 206.
    const rung = new URL('360p.m3u8', master)
    const variant = await (await fetch(rung)).text()
    const segment = variant.split('\n').find((line) => line.endsWith('.mp4')) ?? ''
    expect(segment).toBe('../360p.mp4')
    const redirect = await fetch(new URL(segment, rung), { redirect: 'manual' })
    expect(redirect.status).toBe(302)
    expect(redirect.headers.get('location')).toContain(
      `${s3.endpoint}/${s3.bucket}/outputs/${job.job_id}/360p.mp4`,
    )
    const part = await fetch(new URL(segment, rung), { headers: { Range: 'bytes=0-99' } })
    expect(part.status).toBe(206)
    expect((await part.arrayBuffer()).byteLength).toBe(100)
    await plays(master)
    // The storyboard's sheets resolve through status too.
    const cues = await (await fetch(local(job.playback?.storyboard))).text()
    const sheet = cues.split('\n').find((line) => line.includes('.jpg#xywh=')) ?? ''
    const image = await fetch(new URL(sheet.split('#')[0] ?? '', local(job.playback?.storyboard)))
    expect(image.status).toBe(200)
    expect(image.headers.get('content-type')).toBe('image/jpeg')
  })

  it('answers Range on the playlists it serves as on local files: 206, 200 whole for several or malformed, 416', async () => {
    const master = local(job.playback?.hls)
    const whole = Buffer.from(await (await fetch(master)).arrayBuffer())
    const size = whole.length
    const part = await fetch(master, { headers: { Range: 'bytes=10-19' } })
    expect(part.status).toBe(206)
    expect(part.headers.get('content-range')).toBe(`bytes 10-19/${size}`)
    expect(part.headers.get('content-length')).toBe('10')
    expect(Buffer.from(await part.arrayBuffer()).equals(whole.subarray(10, 20))).toBe(true)
    for (const range of ['bytes=0-1,5-6', 'bytes=abc']) {
      const res = await fetch(master, { headers: { Range: range } })
      expect(res.status, range).toBe(200)
      expect(res.headers.get('content-range'), range).toBeNull()
      expect(Buffer.from(await res.arrayBuffer()).equals(whole), range).toBe(true)
    }
    const past = await fetch(master, { headers: { Range: `bytes=${size}-` } })
    expect(past.status).toBe(416)
    expect(past.headers.get('content-range')).toBe(`bytes */${size}`)
    expect((await past.json()).error).toBe('range_not_satisfiable')
  })

  it('with S3_PUBLIC_URL, gives plain URLs in the public bucket, and HLS plays from there directly', async () => {
    const status = await startStatus(
      statusConfig({ ...pipeline.env, S3_PUBLIC_URL: `${s3.endpoint}/${s3.bucket}` }),
      createLogger({ service: 'status', level: 'silent' }),
    )
    try {
      const res = await fetch(`http://127.0.0.1:${status.port}/jobs/${job.job_id}`)
      const record = JobSchema.parse(await res.json())
      for (const output of record.outputs)
        expect(output.url).toBe(`${s3.endpoint}/${s3.bucket}/${output.path}`)
      expect(record.playback?.hls).toBe(`${s3.endpoint}/${s3.bucket}/outputs/${job.job_id}/hls/master.m3u8`)
      await plays(record.playback?.hls ?? '')
    } finally {
      await status.close()
    }
  })

  it('refuses a non-video upload before it reaches the bucket', async () => {
    const notes = join(dir.path, 'notes.mp4')
    await writeFile(notes, 'not a video at all, just text\n'.repeat(100))
    const res = await pipeline.uploadResponse(notes)
    expect(res.status).toBe(415)
  })

  it('answers 503 storage_unavailable, keeping nothing, when the bucket cannot be reached', async () => {
    await s3.stop()
    const res = await pipeline.uploadResponse(clip)
    expect(res.status).toBe(503)
    expect(await res.json()).toEqual({
      error: 'storage_unavailable',
      message: 'The upload store is unavailable; try again shortly',
    })
    expect((await (await fetch(`${pipeline.status}/stats`)).json()).total_jobs).toBe(1)
  })
})
