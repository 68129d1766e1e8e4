/**
 * One contract, both backends: local disk, and S3 against a real S3-compatible server (s3rver)
 * on loopback.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { GetObjectCommand } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { jobAssetName, type MediaStorage } from '../storage/storage.ts'
import { tempDir } from '../testing/redis.ts'
import { startTestS3, type TestS3 } from '../testing/s3.ts'
import { LocalStorage } from './local-storage.ts'
import { S3Storage } from './s3-storage.ts'

let s3: TestS3
let dir: Awaited<ReturnType<typeof tempDir>>
beforeAll(async () => {
  s3 = await startTestS3()
  dir = await tempDir()
})
afterAll(async () => {
  await s3.stop()
  await dir.remove()
})

const backends: Record<string, () => MediaStorage> = {
  local: () => new LocalStorage(join(dir.path, 'uploads'), join(dir.path, 'output')),
  s3: () => s3.storage(join(dir.path, 'work')),
}

/** What a published output holds, read back the way a client would. */
async function readPublished(storage: MediaStorage, path: string): Promise<Buffer> {
  if (storage instanceof S3Storage) {
    const object = await storage.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: path }))
    return Buffer.from(
      await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
    )
  }
  return readFile(path)
}

const bytes = (size: number, seed: number) => new Uint8Array(size).map((_, i) => (i * 31 + seed) % 256)
let ids = 0
const newId = () => `job-${++ids}-${Date.now()}`

describe.each(Object.keys(backends))('%s storage', (name) => {
  const storage = () => (backends[name] as () => MediaStorage)()

  it('stores an upload streamed in chunks, invisible until committed, readable whole after', async () => {
    const store = storage()
    const id = newId()
    const sink = await store.create(id)
    // Over one S3 multipart part (8 MiB), written in uneven chunks.
    const chunks = [bytes(3 * 1024 * 1024, 1), bytes(7 * 1024 * 1024 + 5, 2), bytes(100, 3)]
    for (const chunk of chunks) {
      await sink.write(chunk)
      expect(await store.hasUpload(id)).toBe(false)
    }
    await sink.commit()
    expect(await store.hasUpload(id)).toBe(true)
    const work = await store.workDir(id)
    const local = await store.localUpload(id, work)
    expect(Buffer.compare(await readFile(local), Buffer.concat(chunks))).toBe(0)
  })

  it("keeps assets whole, and removes a job's own with its upload (removeUpload)", async () => {
    const store = storage()
    const id = newId()
    const stored = `watermark-wm_${id.replaceAll('-', '')}.png`
    const own = jobAssetName(id, 'watermark.png')
    expect(await store.readAsset(stored)).toBeNull()
    await store.putAsset(stored, bytes(300, 7))
    await store.putAsset(own, bytes(200, 8))
    expect(await store.readAsset(stored)).toEqual(bytes(300, 7))
    const work = await store.workDir(id)
    expect(new Uint8Array(await readFile(await store.localAsset(own, work)))).toEqual(bytes(200, 8))
    const sink = await store.create(id)
    await sink.write(bytes(10, 9))
    await sink.commit()
    await store.removeUpload(id)
    expect(await store.hasUpload(id)).toBe(false)
    expect(await store.readAsset(own)).toBeNull()
    await expect(store.localAsset(own, work)).rejects.toThrow(/missing|not in the bucket/)
    // Another's asset stays until it is removed itself.
    expect(await store.readAsset(stored)).toEqual(bytes(300, 7))
    await store.removeAsset(stored)
    await store.removeAsset(stored) // twice is fine
    expect(await store.readAsset(stored)).toBeNull()
    await expect(store.putAsset('../escape', bytes(1, 1))).rejects.toThrow(/invalid asset name/)
  })

  it('leaves nothing behind for an aborted upload, and removes a committed one on abort or removeUpload', async () => {
    const store = storage()
    const aborted = newId()
    const sink = await store.create(aborted)
    await sink.write(bytes(1000, 4))
    await sink.abort()
    await sink.abort() // twice is fine
    expect(await store.hasUpload(aborted)).toBe(false)
    if (store instanceof LocalStorage) {
      expect((await readdir(store.dir)).filter((n) => n.startsWith(aborted))).toEqual([])
    }

    const committed = newId()
    const second = await store.create(committed)
    await second.write(bytes(10, 5))
    await second.commit()
    await second.abort()
    expect(await store.hasUpload(committed)).toBe(false)

    const removed = newId()
    const third = await store.create(removed)
    await third.write(bytes(10, 6))
    await third.commit()
    await store.removeUpload(removed)
    expect(await store.hasUpload(removed)).toBe(false)
    await store.removeUpload(removed) // already gone: fine
  })

  it('publishes renditions whole under {job_id}/{name}, replacing an earlier attempt', async () => {
    const store = storage()
    const id = newId()
    for (const attempt of [1, 2]) {
      const work = await store.workDir(id)
      const files = [
        { name: '360p.mp4', content: bytes(50_000, attempt), contentType: 'video/mp4' },
        { name: 'thumbnail.jpg', content: bytes(3_000, attempt + 10), contentType: 'image/jpeg' },
      ]
      for (const f of files) await writeFile(join(work, f.name), f.content)
      const published = await store.publish(
        id,
        files.map((f) => ({ name: f.name, path: join(work, f.name), contentType: f.contentType })),
      )
      expect(published.map((p) => p.path.endsWith(`${id}/${files[published.indexOf(p)]?.name}`))).toEqual([
        true,
        true,
      ])
      for (const [i, f] of files.entries()) {
        expect(
          Buffer.compare(await readPublished(store, published[i]?.path ?? ''), Buffer.from(f.content)),
        ).toBe(0)
      }
      if (store instanceof S3Storage) {
        // No S3_PUBLIC_URL: no URL is stored (status presigns one per read).
        expect(published[0]).toEqual({ path: `outputs/${id}/360p.mp4` })
      } else {
        expect(published[0]).toEqual({ path: join(dir.path, 'output', id, '360p.mp4') })
      }
    }
  })

  it('says whether an output is published, and where ffmpeg reads it (a path, or a presigned GET)', async () => {
    const store = storage()
    const id = newId()
    expect(await store.hasOutput(id, 'renders/thumb-t0-w16.jpg')).toBe(false)
    const work = await store.workDir(id)
    await writeFile(join(work, 'f.jpg'), bytes(1000, 3))
    await store.publish(id, [
      { name: 'renders/thumb-t0-w16.jpg', path: join(work, 'f.jpg'), contentType: 'image/jpeg' },
    ])
    expect(await store.hasOutput(id, 'renders/thumb-t0-w16.jpg')).toBe(true)
    expect(await store.hasOutput(id, 'renders/thumb-t0-w18.jpg')).toBe(false)
    const source = await store.outputSource(id, 'renders/thumb-t0-w16.jpg', 60)
    const read = source.startsWith('http')
      ? Buffer.from(await (await fetch(source)).arrayBuffer())
      : await readFile(source)
    expect(Buffer.compare(read, Buffer.from(bytes(1000, 3)))).toBe(0)
    if (store instanceof S3Storage) expect(source).toMatch(/X-Amz-Expires=60/)
  })

  it('reads a published file back (readOutput), null for one not there', async () => {
    const store = storage()
    const id = newId()
    const work = await store.workDir(id)
    await writeFile(join(work, 'index.vtt'), 'WEBVTT\n')
    const path = join(work, 'index.vtt')
    await store.publish(id, [{ name: 'captions/cap_a/index.vtt', path, contentType: 'text/vtt' }])
    expect(
      new TextDecoder().decode((await store.readOutput(id, 'captions/cap_a/index.vtt')) ?? undefined),
    ).toBe('WEBVTT\n')
    expect(await store.readOutput(id, 'captions/cap_b/index.vtt')).toBeNull()
    expect(await store.readOutput(newId(), 'hls/master.m3u8')).toBeNull()
    await store.removeOutputFolder(id, 'captions/cap_a')
    expect(await store.readOutput(id, 'captions/cap_a/index.vtt')).toBeNull()
  })

  it('publishes no further file once the signal is aborted (the job lost mid-publish)', async () => {
    const store = storage()
    const id = newId()
    const work = await store.workDir(id)
    const names = ['720p.mp4', '480p.mp4', '360p.mp4']
    for (const name of names) await writeFile(join(work, name), bytes(1000, name.length))
    const files = names.map((name) => ({ name, path: join(work, name), contentType: 'video/mp4' }))
    // Aborted while the first file is being published.
    const lost = new AbortController()
    const first = files[0] as (typeof files)[number]
    const slow = {
      ...first,
      get name() {
        lost.abort(new Error('claim lost'))
        return first.name
      },
    }
    await expect(store.publish(id, [slow, ...files.slice(1)], lost.signal)).rejects.toThrow('claim lost')
    const path = (name: string) =>
      store instanceof S3Storage ? `outputs/${id}/${name}` : join(dir.path, 'output', id, name)
    expect((await readPublished(store, path('720p.mp4'))).length).toBe(1000)
    await expect(readPublished(store, path('480p.mp4'))).rejects.toThrow()
    await expect(readPublished(store, path('360p.mp4'))).rejects.toThrow()
  })

  it('gives each attempt a fresh work directory and clears those of earlier attempts', async () => {
    const store = storage()
    const id = newId()
    const first = await store.workDir(id)
    await writeFile(join(first, 'partial.mp4'), 'half a video')
    const second = await store.workDir(id)
    expect(second).not.toBe(first)
    await expect(readdir(first)).rejects.toThrow(/ENOENT/)
  })

  it('refuses ids that could name another path', async () => {
    const store = storage()
    await expect(store.create('../etc')).rejects.toThrow('invalid job id')
    await expect(store.workDir('a/b')).rejects.toThrow('invalid job id')
  })
})

describe('local storage: partial uploads', () => {
  it('sweeps part files idle past the limit, and keeps uploads in progress and committed ones', async () => {
    const storage = new LocalStorage(join(dir.path, 'sweep'), join(dir.path, 'sweep-out'))
    const dead = await storage.create('dead-1')
    await dead.write(bytes(10, 1)) // an ingest that died here never commits or aborts
    const committed = await storage.create('done-1')
    await committed.write(bytes(10, 2))
    await committed.commit()
    await new Promise((resolve) => setTimeout(resolve, 60))
    const live = await storage.create('live-1')
    await live.write(bytes(10, 3))
    expect(await storage.sweepPartials(50)).toBe(1)
    const left = (await readdir(join(dir.path, 'sweep'))).sort()
    expect(left).toHaveLength(2)
    expect(left[0]).toBe('done-1')
    expect(left[1]).toMatch(/^live-1\..+\.part$/)
    await live.abort()
  })
})
