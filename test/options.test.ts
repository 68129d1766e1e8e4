/**
 * Per-job options on both create endpoints: a subset of the profiles, and the caller's own
 * metadata passed through. Real HTTP, Redis and ffmpeg.
 */
import { readdir, readFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { makeClip, startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Pipeline, startPipeline } from './harness.ts'

let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let pipeline: Pipeline
let clip = ''
/** 4:3, between rungs: by default it gets a rendition at its own size too. */
let vga = ''
let files: Server
let filesUrl = ''

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
  clip = await makeClip(`${dir.path}/clip.mp4`, { width: 640, height: 360, seconds: 2, audio: true })
  vga = await makeClip(`${dir.path}/vga.mp4`, { width: 640, height: 480, seconds: 2, audio: false })
  pipeline = await startPipeline(redis, `${dir.path}/data`, { URL_IMPORT_ALLOW_PRIVATE: 'true' })
  await pipeline.transcoder()
  files = createServer(async (_req, res) =>
    res.writeHead(200, { 'content-type': 'video/mp4' }).end(await readFile(clip)),
  )
  await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve))
  filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}/clip.mp4`
})
afterAll(async () => {
  await pipeline?.close()
  await new Promise((resolve) => files?.close(resolve))
  await redis?.stop()
  await dir?.remove()
})

const metadata = { customer: 'c-42', tags: ['promo', 'ünïcode'], nested: { n: 1, ok: true } }

async function uploadWith(fields: Record<string, string>, path = clip) {
  const form = new FormData()
  for (const [name, value] of Object.entries(fields)) form.append(name, value)
  form.append('file', new Blob([await readFile(path)]), 'clip.mp4')
  return fetch(`${pipeline.ingest}/upload`, { method: 'POST', body: form })
}

const importWith = (body: Record<string, unknown>) =>
  fetch(`${pipeline.ingest}/upload-url`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

describe('per-job options', () => {
  it('makes exactly the profiles asked for and returns the metadata unchanged (upload)', async () => {
    const res = await uploadWith({ profiles: 'thumbnail, 360p', metadata: JSON.stringify(metadata) })
    expect(res.status).toBe(202)
    const { job_id } = (await res.json()) as { job_id: string }
    const job = await pipeline.waitFor(job_id, ['completed', 'failed'], 60_000)
    expect(job.status).toBe('completed')
    expect(job.outputs.map((o) => o.profile)).toEqual(['360p', 'thumbnail'])
    expect(job.profiles).toEqual(['thumbnail', '360p'])
    expect(job.metadata).toEqual(metadata)
    const listed = (await (await fetch(`${pipeline.status}/jobs?limit=100`)).json()) as {
      jobs: Array<{ job_id: string; metadata?: unknown }>
    }
    expect(listed.jobs.find((j) => j.job_id === job_id)?.metadata).toEqual(metadata)
  })

  it('makes the rendition at the source size only when the list names it; hls packages the rungs made', async () => {
    const made = async (profiles: string) => {
      const res = await uploadWith({ profiles }, vga)
      expect(res.status).toBe(202)
      const id = ((await res.json()) as { job_id: string }).job_id
      const job = await pipeline.waitFor(id, ['completed', 'failed'], 60_000)
      expect(job.status, job.error).toBe('completed')
      expect(job.skipped).toEqual([])
      const hls = job.outputs.find((o) => o.profile === 'hls')
      return [
        job.outputs.map((o) => o.profile),
        hls?.variants?.map((v) => `${v.profile} ${v.width}x${v.height}`),
      ]
    }
    expect(await made('360p,thumbnail,hls')).toEqual([['360p', 'thumbnail', 'hls'], ['360p 480x360']])
    expect(await made('original,360p,hls')).toEqual([
      ['original', '360p', 'hls'],
      ['original 640x480', '360p 480x360'],
    ])
    expect(await made('webm_original')).toEqual([['webm_original'], undefined])
  })

  it('takes them as JSON on a URL import', async () => {
    const res = await importWith({ url: filesUrl, profiles: ['360p'], metadata: { ref: 'abc' } })
    expect(res.status).toBe(202)
    const { job_id } = (await res.json()) as { job_id: string }
    const job = await pipeline.waitFor(job_id, ['completed', 'failed'], 60_000)
    expect(job.outputs.map((o) => o.profile)).toEqual(['360p'])
    expect(job.metadata).toEqual({ ref: 'abc' })
  })

  it('refuses an unknown profile, metadata that is no JSON object, and metadata over 1 KB with 400', async () => {
    const cases: Array<[Promise<Response>, RegExp]> = [
      [uploadWith({ profiles: '360p,1080p_hdr' }), /unknown profile 1080p_hdr/],
      [uploadWith({ metadata: '{not json' }), /metadata must be JSON text of an object/],
      [uploadWith({ metadata: '[1,2]' }), /metadata must be a JSON object/],
      [uploadWith({ metadata: JSON.stringify({ big: 'x'.repeat(1100) }) }), /at most 1024 bytes/],
      [importWith({ url: filesUrl, profiles: ['nope'] }), /unknown profile nope/],
      [importWith({ url: filesUrl, metadata: 'plain text' }), /metadata must be JSON text of an object/],
    ]
    for (const [response, message] of cases) {
      const res = await response
      expect(res.status).toBe(400)
      const body = (await res.json()) as { error: string; message: string }
      expect(body.error).toBe('bad_request')
      expect(body.message).toMatch(message)
    }
    // Refused uploads keep nothing.
    expect(
      (await readdir(`${dir.path}/data/uploads`).catch(() => [] as string[])).filter(
        (n) => !n.endsWith('.part'),
      ),
    ).toHaveLength(0)
  })
})
