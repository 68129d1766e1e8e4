/**
 * Media URLs on local storage: the status service serves what a job published, to a browser or a
 * player, with no extra headers. Real HTTP, real Redis, real ffmpeg.
 */
import { execFile } from 'node:child_process'
import { readFile, symlink } from 'node:fs/promises'
import { request } from 'node:http'
import { promisify } from 'node:util'
import type { Job } from '@vpp/shared'
import { makeClip, startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Pipeline, startPipeline } from './harness.ts'

const run = promisify(execFile)
let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let pipeline: Pipeline
let job: Job

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
  const clip = await makeClip(`${dir.path}/clip.mp4`, { width: 640, height: 360, seconds: 5, audio: true })
  pipeline = await startPipeline(redis, `${dir.path}/data`)
  await pipeline.transcoder()
  job = await pipeline.waitFor(await pipeline.upload(clip), ['completed', 'failed'], 120_000)
  expect(job.status).toBe('completed')
})
afterAll(async () => {
  await pipeline?.close()
  await redis?.stop()
  await dir?.remove()
})

/** A job's media URL, on the running status service (the test's PUBLIC_URL port is 0). */
const local = (url: string | null | undefined) => `${pipeline.status}${new URL(url ?? '').pathname}`
const outputFile = (profile: string) => job.outputs.find((o) => o.profile === profile)?.path ?? ''

/** A raw GET: the path exactly as given (fetch would normalise `..` away). */
function rawGet(path: string): Promise<number> {
  const { port } = new URL(pipeline.status)
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('error', reject)
    req.end()
  })
}

describe('media URLs', () => {
  it('gives every output a URL and the job a playback block', async () => {
    const id = job.job_id
    for (const output of job.outputs) expect(output.url).toMatch(new RegExp(`/media/${id}/`))
    expect(job.playback).toEqual({
      hls: expect.stringMatching(new RegExp(`/media/${id}/hls/master\\.m3u8$`)),
      mp4: expect.stringMatching(new RegExp(`/media/${id}/360p\\.mp4$`)),
      thumbnail: expect.stringMatching(new RegExp(`/media/${id}/thumbnail\\.jpg$`)),
      storyboard: expect.stringMatching(new RegExp(`/media/${id}/storyboard\\.vtt$`)),
    })
  })

  it('answers Range with 206 byte for byte on every kind of output, with its type and caching', async () => {
    const hls = job.outputs.find((o) => o.profile === 'hls')?.url ?? ''
    const cases: Array<[string, string, string]> = [
      [local(job.playback?.mp4), outputFile('360p'), 'video/mp4'],
      [
        local(job.outputs.find((o) => o.profile === 'webm_original')?.url),
        outputFile('webm_original'),
        'video/webm',
      ],
      [local(job.playback?.thumbnail), outputFile('thumbnail'), 'image/jpeg'],
      [local(job.playback?.storyboard), outputFile('storyboard'), 'text/vtt'],
      [local(hls), outputFile('hls'), 'application/vnd.apple.mpegurl'],
      [
        local(hls.replace('master.m3u8', '360p/segment-000.m4s')),
        outputFile('hls').replace('master.m3u8', '360p/segment-000.m4s'),
        'video/iso.segment',
      ],
    ]
    for (const [url, path, type] of cases) {
      const bytes = await readFile(path)
      const res = await fetch(url, { headers: { Range: 'bytes=10-99' } })
      expect(res.status, url).toBe(206)
      expect(res.headers.get('content-type')).toBe(type)
      expect(res.headers.get('content-range')).toBe(`bytes 10-99/${bytes.length}`)
      expect(Buffer.from(await res.arrayBuffer()).equals(bytes.subarray(10, 100))).toBe(true)
      const whole = await fetch(url)
      expect(whole.status).toBe(200)
      expect(Buffer.from(await whole.arrayBuffer()).equals(bytes)).toBe(true)
      const suffix = await fetch(url, { headers: { Range: 'bytes=-5' } })
      expect(Buffer.from(await suffix.arrayBuffer()).equals(bytes.subarray(bytes.length - 5))).toBe(true)
    }
    const mp4 = await fetch(local(job.playback?.mp4), { method: 'HEAD' })
    expect(mp4.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
  })

  it('answers HEAD without a body, 304 on revalidation, 416 past the end, CORS for other origins', async () => {
    const url = local(job.playback?.mp4)
    const size = (await readFile(outputFile('360p'))).length
    const head = await fetch(url, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.headers.get('content-length')).toBe(String(size))
    expect((await head.arrayBuffer()).byteLength).toBe(0)
    const etag = head.headers.get('etag') ?? ''
    expect(etag).toMatch(/^W\/"/)
    expect((await fetch(url, { headers: { 'If-None-Match': etag } })).status).toBe(304)
    const lastModified = head.headers.get('last-modified') ?? ''
    expect((await fetch(url, { headers: { 'If-Modified-Since': lastModified } })).status).toBe(304)
    const past = await fetch(url, { headers: { Range: `bytes=${size}-` } })
    expect(past.status).toBe(416)
    expect(past.headers.get('content-range')).toBe(`bytes */${size}`)
    const cross = await fetch(url, { headers: { Origin: 'https://player.example' } })
    expect(cross.headers.get('access-control-allow-origin')).toBe('*')
  })

  it('plays the HLS master over HTTP with no header, as a player would', async () => {
    const { stderr } = await run('ffmpeg', [
      '-v',
      'error',
      '-protocol_whitelist',
      'http,tcp,file',
      '-i',
      local(job.playback?.hls),
      '-f',
      'null',
      '-',
    ])
    expect(stderr).toBe('')
  })

  it('never serves anything outside OUTPUT_DIR', async () => {
    const id = job.job_id
    // A symlink planted in the job's folder, pointing out of OUTPUT_DIR.
    await symlink('/etc/passwd', `${dir.path}/data/output/${id}/planted.mp4`)
    for (const path of [
      `/media/${id}/../../uploads/x`,
      `/media/${id}/..%2F..%2F..%2Fetc%2Fpasswd`,
      `/media/${id}/%2e%2e/%2e%2e/%2e%2e/etc/passwd`,
      `/media/${id}/hls%2F..%2F..%2F360p.mp4`,
      `/media/..%2F${id}/360p.mp4`,
      `/media/${id}/planted.mp4`,
      `/media/${id}/.work`,
      `/media/${id}/nothing.mp4`,
    ]) {
      expect(await rawGet(path), path).toBe(404)
    }
    expect(await rawGet(`/media/${id}/360p.mp4`)).toBe(200)
  })
})
