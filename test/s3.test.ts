/**
 * The whole pipeline on STORAGE_BACKEND=s3, against a real S3-compatible server (s3rver) on
 * loopback: ingest and the transcoder share nothing but Redis and the bucket.
 */
import { existsSync } from 'node:fs'
import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  makeClip,
  probeFile,
  startTestRedis,
  startTestS3,
  type TestRedis,
  type TestS3,
  tempDir,
} from '@vpp/shared/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Pipeline, startPipeline } from './harness.ts'

let redis: TestRedis
let s3: TestS3
let dir: Awaited<ReturnType<typeof tempDir>>
let pipeline: Pipeline
let clip = ''

beforeAll(async () => {
  ;[redis, s3, dir] = await Promise.all([startTestRedis(), startTestS3(), tempDir()])
  clip = await makeClip(join(dir.path, 'clip.mp4'), { width: 640, height: 360, seconds: 2, audio: true })
  pipeline = await startPipeline(redis, join(dir.path, 'data'), {
    ...s3.env,
    TRANSCODE_PROFILES: '360p,webm_720p,thumbnail',
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
  it('uploads to the bucket, transcodes from it, and publishes renditions with their keys and URLs', async () => {
    const id = await pipeline.upload(clip, 'holiday.mp4')
    const job = await pipeline.waitFor(id, ['completed', 'failed'])
    expect(job.status, job.error).toBe('completed')
    expect(job.outputs.map((o) => [o.profile, o.path, o.url])).toEqual([
      ['360p', `outputs/${id}/360p.mp4`, `${s3.endpoint}/${s3.bucket}/outputs/${id}/360p.mp4`],
      ['thumbnail', `outputs/${id}/thumbnail.jpg`, `${s3.endpoint}/${s3.bucket}/outputs/${id}/thumbnail.jpg`],
      // webm_720p would upscale: VP9 at the source's own size instead.
      [
        'webm_original',
        `outputs/${id}/webm_original.webm`,
        `${s3.endpoint}/${s3.bucket}/outputs/${id}/webm_original.webm`,
      ],
    ])
    expect(job.skipped?.map((s) => s.profile)).toEqual(['webm_720p'])

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
