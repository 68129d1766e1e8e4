/**
 * @vpp/client in this process against a real pipeline: uploads of a Blob, bytes and a web stream
 * over tus, one resumed after an abort through a URL storage, and the job's events to the end.
 * Real HTTP, real Redis (no transcoder: the jobs stay queued until canceled).
 */
import { readFile } from 'node:fs/promises'
import { createClient, type PreviousUpload, type UrlStorage, type VppClient, VppError } from '@vpp/client'
import { makeClip, mp4Bytes, pngBytes, startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Pipeline, startPipeline } from './harness.ts'

const KEY = 'client-key-0123456789abcdef'
let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let pipeline: Pipeline
let client: VppClient
let clip: Uint8Array<ArrayBuffer>

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
  const path = await makeClip(`${dir.path}/clip.mp4`, { width: 320, height: 180, seconds: 1, audio: false })
  clip = new Uint8Array(await readFile(path))
  pipeline = await startPipeline(redis, `${dir.path}/data`, {
    API_KEYS: KEY,
    MEDIA_SIGNING_SECRET: 'client-media-secret-0123456789abcdef-0123',
  })
  client = createClient({ ingestUrl: pipeline.ingest, statusUrl: pipeline.status, apiKey: KEY })
})
afterAll(async () => {
  await pipeline?.close()
  await redis?.stop()
  await dir?.remove()
})

/** A URL storage in memory, as a page's localStorage would be. */
function memoryStorage(): UrlStorage & { entries: Map<string, PreviousUpload> } {
  const entries = new Map<string, PreviousUpload>()
  return {
    entries,
    findAllUploads: async () => [...entries.values()],
    findUploadsByFingerprint: async (fingerprint) =>
      [...entries].filter(([key]) => key.startsWith(`${fingerprint}::`)).map(([, entry]) => entry),
    removeUpload: async (key) => {
      entries.delete(key)
    },
    addUpload: async (fingerprint, entry) => {
      const key = `${fingerprint}::${entries.size}`
      entries.set(key, { ...entry, urlStorageKey: key })
      return key
    },
  }
}

describe('@vpp/client', () => {
  it('uploads a Blob, bytes and a web stream; each becomes a queued job with its options', async () => {
    const stream = new Blob([clip]).stream()
    const results = await Promise.all([
      client.upload(new File([clip], 'file.mp4'), { profiles: ['360p'], metadata: { user: 'u-1' } }),
      client.upload(clip, { filename: 'bytes.mp4', chunkSize: 16 * 1024 }),
      client.upload(stream, { filename: 'stream.mp4', size: clip.length, chunkSize: 10_000 }),
    ])
    const jobs = await Promise.all(results.map((r) => client.job(r.job_id)))
    expect(jobs.map((j) => [j.filename, j.status])).toEqual([
      ['file.mp4', 'queued'],
      ['bytes.mp4', 'queued'],
      ['stream.mp4', 'queued'],
    ])
    expect(jobs[0]).toMatchObject({ profiles: ['360p'], metadata: { user: 'u-1' } })
    for (const result of results) {
      expect(result).toMatchObject({ size: clip.length, resumed_from: 0 })
      const stored = await readFile(`${dir.path}/data/uploads/${result.job_id}`)
      expect(Buffer.compare(stored, Buffer.from(clip))).toBe(0)
    }
  })

  it('resumes an aborted upload from the URL storage, at the offset the server has', async () => {
    const bytes = mp4Bytes(2 * 1024 * 1024)
    const storage = memoryStorage()
    const options = {
      filename: 'big.mp4',
      chunkSize: 64 * 1024,
      urlStorage: storage,
      fingerprint: async () => 'big-mp4',
    }
    const controller = new AbortController()
    const aborted = client.upload(bytes, { ...options, signal: controller.signal }, (progress) => {
      if (progress.sent >= bytes.length / 2) controller.abort(new Error('stop'))
    })
    await expect(aborted).rejects.toThrow('stop')
    expect(storage.entries.size).toBe(1)

    const seen: number[] = []
    const result = await client.upload(bytes, options, (progress) => seen.push(progress.sent))
    expect(result.resumed_from).toBeGreaterThanOrEqual(bytes.length / 2)
    expect(result.resumed_from).toBeLessThan(bytes.length)
    expect(Math.min(...seen)).toBeGreaterThanOrEqual(result.resumed_from)
    expect(storage.entries.size).toBe(0)
    expect((await client.job(result.job_id)).status).toBe('queued')
  })

  it('follows a job over SSE to its final event; throws the API error as a VppError', async () => {
    const { job_id } = await client.upload(clip, { filename: 'events.mp4' })
    const types: string[] = []
    for await (const event of client.events(job_id)) {
      types.push(event.type)
      expect(event.id).toMatch(/^\d+-\d+$/)
      if (event.type === 'job.queued') await client.cancel(job_id)
    }
    expect(types).toEqual(['job.queued', 'job.canceled'])

    const error = await client.job('no-such-job').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(VppError)
    expect(error).toMatchObject({ status: 404, code: 'not_found' })
    const other = createClient({
      ingestUrl: pipeline.ingest,
      statusUrl: pipeline.status,
      apiKey: 'wrong-key',
    })
    await expect(other.upload(clip, { filename: 'x.mp4' })).rejects.toMatchObject({
      status: 401,
      code: 'unauthorized',
    })
    await expect(other.events(job_id).next()).rejects.toMatchObject({ status: 401 })
  })

  it('stores a watermark PNG, names it in an upload (tus) and an import, and deletes it', async () => {
    const logo = pngBytes(32, 16)
    const made = await client.addWatermark(logo, { default: true })
    expect(made).toMatchObject({ width: 32, height: 16, size_bytes: logo.length, default: true })
    const listed = async () => (await client.listWatermarks()).watermarks
    expect((await listed()).find((w) => w.watermark_id === made.watermark_id)).toEqual({
      ...made,
      created_at: expect.any(String),
    })
    const named = await client.upload(clip, {
      filename: 'marked.mp4',
      watermark: { image: made.watermark_id, position: 'top-left' },
    })
    expect((await client.job(named.job_id)).watermark).toEqual({
      image: made.watermark_id,
      position: 'top-left',
      width: 0.15,
      margin: 0.02,
    })
    // The key's default, when the watermark names no image.
    const imported = await client.importUrl('https://93.184.216.34/v.mp4', { watermark: { width: 0.3 } })
    expect((await client.job(imported.job_id)).watermark?.image).toBe(made.watermark_id)
    await client.deleteWatermark(made.watermark_id)
    expect((await listed()).map((w) => w.watermark_id)).not.toContain(made.watermark_id)
    await expect(client.deleteWatermark(made.watermark_id)).rejects.toMatchObject({ status: 404 })
    await expect(client.addWatermark(new Uint8Array([0xff, 0xd8, 0xff, 0xe0]))).rejects.toMatchObject({
      status: 400,
      code: 'invalid_watermark',
    })
  })
})
