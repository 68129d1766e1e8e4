/**
 * normalize_audio and the `audio` profile together, on STORAGE_BACKEND=s3 (a real S3-compatible
 * server on loopback), with API keys on, in the chunked engine: the M4A fetched from its presigned
 * URL is AAC as loud as asked, the master fetched through status (signed) names the audio-only
 * variant, which ffmpeg plays over HTTP; another key's job is 404. Real redis-server, ffmpeg, HTTP.
 */
import { execFile } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { type Job, JobSchema } from '@vpp/shared'
import {
  probeFile,
  startTestRedis,
  startTestS3,
  type TestRedis,
  type TestS3,
  tempDir,
} from '@vpp/shared/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Pipeline, startPipeline } from './harness.ts'

const run = promisify(execFile)
const A = 'key-a-0123456789abcdef0123'
const B = 'key-b-0123456789abcdef0123'
let redis: TestRedis
let s3: TestS3
let dir: Awaited<ReturnType<typeof tempDir>>
let pipeline: Pipeline
let clip = ''

/** The integrated loudness of a file's audio, in LUFS (framelog=quiet by its number: ffmpeg 5.1). */
async function integrated(path: string): Promise<number> {
  const { stderr } = await run('ffmpeg', [
    ...['-hide_banner', '-nostdin', '-nostats', '-i', path, '-map', '0:a'],
    ...['-af', 'ebur128=framelog=-8', '-f', 'null', '-'],
  ])
  return Number(/I:\s+(-?[\d.]+) LUFS/.exec(stderr.slice(stderr.lastIndexOf('Summary:')))?.[1])
}

beforeAll(async () => {
  ;[redis, s3, dir] = await Promise.all([startTestRedis(), startTestS3(), tempDir()])
  clip = join(dir.path, 'quiet.mp4')
  // biome-ignore format: flag and value on one line
  await run('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-nostdin', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=24:duration=6',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=6,volume=-30dB',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '96k', clip,
  ])
  pipeline = await startPipeline(redis, join(dir.path, 'data'), {
    ...s3.env,
    API_KEYS: `${A},${B}`,
    MEDIA_SIGNING_SECRET: 'a-media-signing-secret-of-32-chars!',
    CHUNK_SECONDS: '2',
  })
  await pipeline.transcoder()
})

afterAll(async () => {
  await pipeline?.close()
  await s3?.stop()
  await redis?.stop()
  await dir?.remove()
})

async function finished(id: string): Promise<Job> {
  for (const deadline = Date.now() + 90_000; Date.now() < deadline; ) {
    const res = await fetch(`${pipeline.status}/jobs/${id}`, { headers: { Authorization: `Bearer ${A}` } })
    const job = JobSchema.parse(await res.json())
    if (job.status === 'completed' || job.status === 'failed') return job
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`job ${id} did not finish`)
}

describe('normalize_audio and the audio profile on S3, with keys, in chunks', () => {
  it('makes a normalised M4A and the audio-only variant, served as media; 404 to another key', async () => {
    const form = new FormData()
    form.append('file', new Blob([await readFile(clip)]), 'quiet.mp4')
    form.append('profiles', 'original,hls,audio')
    form.append('normalize_audio', 'true')
    const res = await fetch(`${pipeline.ingest}/upload`, {
      method: 'POST',
      body: form,
      headers: { Authorization: `Bearer ${A}` },
    })
    expect(res.status).toBe(202)
    const { job_id } = (await res.json()) as { job_id: string }
    const job = await finished(job_id)
    expect(job.status, job.error).toBe('completed')
    expect(job.outputs.map((o) => [o.profile, o.path, o.width])).toEqual([
      ['original', `outputs/${job_id}/original.mp4`, 320],
      ['hls', `outputs/${job_id}/hls/master.m3u8`, 320],
      ['audio', `outputs/${job_id}/audio.m4a`, null],
    ])
    const other = await fetch(`${pipeline.status}/jobs/${job_id}`, {
      headers: { Authorization: `Bearer ${B}` },
    })
    expect(other.status).toBe(404)

    // The M4A from the bucket: audio/mp4, AAC stereo, -16 LUFS within 1 LU.
    const audio = job.outputs.find((o) => o.profile === 'audio')
    const m4a = await fetch(audio?.url ?? '')
    expect(m4a.status).toBe(200)
    expect(m4a.headers.get('content-type')).toBe('audio/mp4')
    const fetched = join(dir.path, 'audio.m4a')
    await writeFile(fetched, Buffer.from(await m4a.arrayBuffer()))
    const { streams } = await probeFile(fetched)
    expect(streams).toEqual([expect.objectContaining({ codec_name: 'aac', channels: 2 })])
    const lufs = await integrated(fetched)
    expect(Math.abs(lufs + 16), `${lufs} LUFS`).toBeLessThanOrEqual(1)

    // The master through status (signed), its audio-only variant played by ffmpeg over HTTP.
    const master = `${pipeline.status}${new URL(job.playback?.hls ?? '').pathname}`
    const text = await (await fetch(master)).text()
    expect(text).toMatch(
      /#EXT-X-STREAM-INF:BANDWIDTH=\d+,AVERAGE-BANDWIDTH=\d+,CODECS="mp4a\.40\.2"\naudio\.m3u8\n$/,
    )
    const { stderr } = await run('ffmpeg', [
      ...[
        '-v',
        'error',
        '-protocol_whitelist',
        'http,tcp,file,crypto,data',
        '-i',
        new URL('audio.m3u8', master).href,
      ],
      ...['-map', '0:a', '-f', 'null', '-'],
    ])
    expect(stderr).toBe('')
  })
})
