/**
 * Media URLs on local storage: the status service serves what a job published, to a browser or a
 * player, with no extra headers, the same on Node (in this process) and on Bun and Deno
 * (`npm run start:status:bun`, `:deno`, as child processes). Real HTTP, real Redis, real ffmpeg.
 */
import { execFile } from 'node:child_process'
import { readFile, symlink } from 'node:fs/promises'
import { request } from 'node:http'
import { promisify } from 'node:util'
import { type Job, JobSchema } from '@vpp/shared'
import { makeClip, startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Pipeline, type Runtime, type ServiceProcess, spawnService, startPipeline } from './harness.ts'

const RUNTIMES: Runtime[] = ['node', 'bun', 'deno']
const run = promisify(execFile)
let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let pipeline: Pipeline
let job: Job
const children: ServiceProcess[] = []
/** The status service's URL on each runtime. */
const status: Partial<Record<Runtime, string>> = {}

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
  const clip = await makeClip(`${dir.path}/clip.mp4`, { width: 640, height: 360, seconds: 5, audio: true })
  pipeline = await startPipeline(redis, `${dir.path}/data`)
  status.node = pipeline.status
  // Started while the job transcodes: Bun and Deno read the same Redis and OUTPUT_DIR.
  const others = Promise.all(
    (['bun', 'deno'] as const).map(async (runtime) => {
      const service = await spawnService('status', runtime, pipeline.env)
      children.push(service)
      status[runtime] = service.url
    }),
  )
  await pipeline.transcoder()
  job = await pipeline.waitFor(await pipeline.upload(clip), ['completed', 'failed'], 120_000)
  expect(job.status).toBe('completed')
  await others
  // A symlink planted in the job's folder, pointing out of OUTPUT_DIR.
  await symlink('/etc/passwd', `${dir.path}/data/output/${job.job_id}/planted.mp4`)
}, 120_000)
afterAll(async () => {
  await Promise.all(children.map((child) => child.stop()))
  await pipeline?.close()
  await redis?.stop()
  await dir?.remove()
})

const outputFile = (profile: string) => job.outputs.find((o) => o.profile === profile)?.path ?? ''

describe.each(RUNTIMES)('media URLs on %s', (runtime) => {
  const base = () => status[runtime] ?? ''
  /** A job's media URL, on this runtime's status service (the test's PUBLIC_URL port is 0). */
  const local = (url: string | null | undefined) => `${base()}${new URL(url ?? '').pathname}`

  /** A raw GET: the path exactly as given (fetch would normalise `..` away). */
  const rawGet = (path: string) => rawGetOn(base(), path)

  it('gives every output a URL and the job a playback block', async () => {
    const id = job.job_id
    const seen = JobSchema.parse(await (await fetch(`${base()}/jobs/${id}`)).json())
    for (const output of seen.outputs) expect(output.url).toMatch(new RegExp(`/media/${id}/`))
    expect(seen.playback).toEqual({
      hls: expect.stringMatching(new RegExp(`/media/${id}/hls/master\\.m3u8$`)),
      mp4: expect.stringMatching(new RegExp(`/media/${id}/360p\\.mp4$`)),
      thumbnail: expect.stringMatching(new RegExp(`/media/${id}/thumbnail\\.jpg$`)),
      storyboard: expect.stringMatching(new RegExp(`/media/${id}/storyboard\\.vtt$`)),
    })
  })

  it('answers Range with 206 byte for byte on every kind of output, with its type and caching', async () => {
    const hls = job.outputs.find((o) => o.profile === 'hls')?.url ?? ''
    const cases: Array<[string, string, string, string]> = [
      [local(job.playback?.mp4), outputFile('360p'), 'video/mp4', 'immutable'],
      [
        local(job.outputs.find((o) => o.profile === 'webm_original')?.url),
        outputFile('webm_original'),
        'video/webm',
        'immutable',
      ],
      [local(job.playback?.thumbnail), outputFile('thumbnail'), 'image/jpeg', 'immutable'],
      [local(job.playback?.storyboard), outputFile('storyboard'), 'text/vtt', 'short'],
      [local(hls), outputFile('hls'), 'application/vnd.apple.mpegurl', 'short'],
      [
        local(hls.replace('master.m3u8', '360p.m3u8')),
        outputFile('hls').replace('master.m3u8', '360p.m3u8'),
        'application/vnd.apple.mpegurl',
        'short',
      ],
    ]
    for (const [url, path, type, caching] of cases) {
      const bytes = await readFile(path)
      const size = bytes.length
      const res = await fetch(url, { headers: { Range: 'bytes=10-99' } })
      expect(res.status, url).toBe(206)
      expect(res.headers.get('content-type')).toBe(type)
      expect(res.headers.get('accept-ranges')).toBe('bytes')
      expect(res.headers.get('content-range')).toBe(`bytes 10-99/${size}`)
      expect(res.headers.get('content-length')).toBe('90')
      expect(res.headers.get('cache-control')).toBe(
        caching === 'immutable' ? 'public, max-age=31536000, immutable' : 'public, max-age=60',
      )
      expect(Buffer.from(await res.arrayBuffer()).equals(bytes.subarray(10, 100))).toBe(true)
      const whole = await fetch(url)
      expect(whole.status).toBe(200)
      expect(whole.headers.get('content-type')).toBe(type)
      expect(whole.headers.get('content-length')).toBe(String(size))
      expect(whole.headers.get('accept-ranges')).toBe('bytes')
      expect(Buffer.from(await whole.arrayBuffer()).equals(bytes)).toBe(true)
      const suffix = await fetch(url, { headers: { Range: 'bytes=-5' } })
      expect(suffix.status).toBe(206)
      expect(suffix.headers.get('content-range')).toBe(`bytes ${size - 5}-${size - 1}/${size}`)
      expect(Buffer.from(await suffix.arrayBuffer()).equals(bytes.subarray(size - 5))).toBe(true)
      // An end past the file is cut to it.
      const tail = await fetch(url, { headers: { Range: `bytes=${size - 10}-${size + 1000}` } })
      expect(tail.status).toBe(206)
      expect(tail.headers.get('content-range')).toBe(`bytes ${size - 10}-${size - 1}/${size}`)
      expect(Buffer.from(await tail.arrayBuffer()).equals(bytes.subarray(size - 10))).toBe(true)
    }
  })

  it('answers HEAD without a body, 304 on revalidation, 416 past the end, CORS for other origins', async () => {
    const url = local(job.playback?.mp4)
    const size = (await readFile(outputFile('360p'))).length
    const head = await fetch(url, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.headers.get('content-length')).toBe(String(size))
    expect(head.headers.get('content-type')).toBe('video/mp4')
    expect(head.headers.get('accept-ranges')).toBe('bytes')
    expect(head.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect((await head.arrayBuffer()).byteLength).toBe(0)
    const etag = head.headers.get('etag') ?? ''
    expect(etag).toMatch(/^W\/"/)
    // The same tag and date on every runtime: a cache in front of a mixed fleet revalidates once.
    const onNode = await fetch(local(job.playback?.mp4).replace(base(), status.node ?? ''), {
      method: 'HEAD',
    })
    expect(etag).toBe(onNode.headers.get('etag'))
    const lastModified = head.headers.get('last-modified') ?? ''
    expect(lastModified).toBe(onNode.headers.get('last-modified'))
    const revalidated = await fetch(url, { headers: { 'If-None-Match': etag } })
    expect(revalidated.status).toBe(304)
    expect(revalidated.headers.get('etag')).toBe(etag)
    expect((await revalidated.arrayBuffer()).byteLength).toBe(0)
    expect((await fetch(url, { headers: { 'If-Modified-Since': lastModified } })).status).toBe(304)
    expect((await fetch(url, { headers: { 'If-None-Match': 'W/"other"' } })).status).toBe(200)
    const past = await fetch(url, { headers: { Range: `bytes=${size}-` } })
    expect(past.status).toBe(416)
    expect(past.headers.get('content-range')).toBe(`bytes */${size}`)
    const cross = await fetch(url, { headers: { Origin: 'https://player.example' } })
    expect(cross.headers.get('access-control-allow-origin')).toBe('*')
    expect(cross.headers.get('access-control-expose-headers')).toContain('Content-Range')
    await cross.arrayBuffer()
  })

  it('answers several or malformed ranges with 200 and the whole file, and one past the end with 416', async () => {
    const url = local(job.playback?.mp4)
    const bytes = await readFile(outputFile('360p'))
    const size = bytes.length
    // Several ranges (served whole: no multipart/byteranges), another unit, or no range at all.
    for (const range of [
      'bytes=0-1,5-6',
      'bytes=0-0,-1',
      'bytes=abc',
      'bytes=5-2',
      'items=0-9',
      'bytes=-',
      '0-9',
    ]) {
      const res = await fetch(url, { headers: { Range: range } })
      expect(res.status, range).toBe(200)
      expect(res.headers.get('content-range'), range).toBeNull()
      expect(res.headers.get('content-length'), range).toBe(String(size))
      expect(res.headers.get('content-type'), range).toBe('video/mp4')
      expect(res.headers.get('accept-ranges'), range).toBe('bytes')
      expect(Buffer.from(await res.arrayBuffer()).equals(bytes), range).toBe(true)
    }
    for (const range of [`bytes=${size}-`, `bytes=${size + 10}-${size + 20}`, 'bytes=-0']) {
      const res = await fetch(url, { headers: { Range: range } })
      expect(res.status, range).toBe(416)
      expect(res.headers.get('content-range'), range).toBe(`bytes */${size}`)
      expect(await res.json(), range).toEqual({
        error: 'range_not_satisfiable',
        message: `The range ${range} is not within the file's ${size} bytes`,
      })
    }
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

describe('media of an expired job', () => {
  it('serves nothing of a job whose outputs expired, even before its files are removed', async () => {
    const key = pipeline.store.keys.job(job.job_id)
    await pipeline.store.client.hSet(key, 'status', 'expired')
    try {
      expect(await rawGetOn(pipeline.status, `/media/${job.job_id}/360p.mp4`)).toBe(404)
    } finally {
      await pipeline.store.client.hSet(key, 'status', 'completed')
    }
    expect(await rawGetOn(pipeline.status, `/media/${job.job_id}/360p.mp4`)).toBe(200)
  })
})

/** A raw GET of `path` exactly as given on `base`: the status code. */
function rawGetOn(base: string, path: string): Promise<number> {
  const { port } = new URL(base)
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('error', reject)
    req.end()
  })
}
