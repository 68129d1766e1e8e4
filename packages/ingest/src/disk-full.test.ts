/**
 * An upload that meets a full UPLOAD_DIR answers 507 `disk_full` and keeps nothing of itself: a
 * real 1 MB tmpfs as the upload directory (mounting needs root, or CAP_SYS_ADMIN: skipped with a
 * message when it is not permitted).
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { open, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LocalStorage } from '@vpp/shared/node'
import { afterAll, describe, expect, it } from 'vitest'
import { form, mp4Bytes, useIngestFixture } from './test-fixture.ts'
import { tusStorage } from './tus/storage.ts'

const fixture = useIngestFixture()
// Mounted while the file loads, so that the tests can be skipped by name when it cannot be
// (`it.skipIf` is decided at collection, in vitest and bun test alike).
const dir = mkdtempSync(join(tmpdir(), 'vpp-disk-full-'))
const volume = join(dir, 'uploads')
mkdirSync(volume)
/** Why the tmpfs could not be mounted ('' when it was). */
const cannotMount = (() => {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', volume], { stdio: 'pipe' })
    return ''
  } catch (error) {
    return String((error as { stderr?: Buffer }).stderr ?? error).trim()
  }
})()
if (cannotMount)
  console.warn(`disk-full tests skipped: cannot mount a tmpfs here (needs root): ${cannotMount}`)
afterAll(() => {
  if (!cannotMount) execFileSync('umount', ['-l', volume])
  rmSync(dir, { recursive: true, force: true })
})

const FULL = { error: 'disk_full', message: 'No space left on the upload volume (UPLOAD_DIR)' }
/** Bigger than the whole volume. */
const BIG = 2 * 1024 * 1024

async function app() {
  const storage = new LocalStorage(volume, join(dir, 'output'))
  return fixture.makeApp({
    storage,
    tus: tusStorage(storage, { expiryMs: 3600_000 }),
    maxFileSize: 4 * BIG,
  })
}

/** What is in the upload volume. */
const files = () => readdir(volume)

/** Fill the volume with one file, until ENOSPC. */
async function fill(path: string): Promise<void> {
  const file = await open(path, 'w')
  try {
    for (const size of [64 * 1024, 4096]) {
      const chunk = new Uint8Array(size)
      while (
        await file.write(chunk).then(
          (w) => w.bytesWritten === size,
          () => false,
        )
      );
    }
  } finally {
    await file.close()
  }
}

describe('a full upload volume', () => {
  it.skipIf(Boolean(cannotMount))(
    'answers a multipart upload 507 disk_full and keeps no partial file',
    async () => {
      const t = await app()
      const res = await t.upload(form('big.mp4', mp4Bytes(BIG)))
      expect(res.status).toBe(507)
      expect(res.headers.get('content-type')).toMatch(/^application\/json/)
      expect(await res.json()).toEqual(FULL)
      expect(await files()).toEqual([])
      expect(await fixture.client.xLen(t.store.keys.stream)).toBe(0)
      const metrics = await (await t.app.request('/metrics')).text()
      expect(metrics).toMatch(/video_uploads_total\{status="disk_full",service="ingest"\} 1/)
      // What fits is still taken.
      expect((await t.upload(form('small.mp4', mp4Bytes(64 * 1024)))).status).toBe(202)
    },
  )

  it.skipIf(Boolean(cannotMount))(
    'answers a tus chunk 507 disk_full with none of its bytes kept; the upload resumes where it stood',
    async () => {
      const t = await app()
      const tus = { 'tus-resumable': '1.0.0' }
      const created = await t.app.request('/uploads', {
        method: 'POST',
        headers: { ...tus, 'upload-length': String(BIG) },
      })
      expect(created.status).toBe(201)
      const url = new URL(created.headers.get('location') ?? '').pathname
      const id = url.split('/').pop() ?? ''
      const bytes = mp4Bytes(BIG)
      const patch = (offset: number, body: Uint8Array<ArrayBuffer>) =>
        t.app.request(url, {
          method: 'PATCH',
          headers: {
            ...tus,
            'upload-offset': String(offset),
            'content-type': 'application/offset+octet-stream',
          },
          body,
        })
      const first = await patch(0, bytes.subarray(0, 256 * 1024))
      expect(first.status).toBe(204)
      expect(first.headers.get('upload-offset')).toBe(String(256 * 1024))

      const rest = await patch(256 * 1024, bytes.subarray(256 * 1024))
      expect(rest.status).toBe(507)
      expect(rest.headers.get('content-type')).toBe('application/json')
      expect(await rest.json()).toEqual(FULL)
      const head = await t.app.request(url, { method: 'HEAD', headers: tus })
      expect(head.headers.get('upload-offset')).toBe(String(256 * 1024))
      expect((await stat(join(volume, id))).size).toBe(256 * 1024) // the failed chunk's bytes cut off
      // Resumable: a chunk that fits goes on from there.
      const next = await patch(256 * 1024, bytes.subarray(256 * 1024, 320 * 1024))
      expect(next.status).toBe(204)
      expect(next.headers.get('upload-offset')).toBe(String(320 * 1024))
      expect((await t.app.request(url, { method: 'DELETE', headers: tus })).status).toBe(204)
    },
  )

  it.skipIf(Boolean(cannotMount))(
    'answers a tus creation 507 disk_full and leaves no file behind',
    async () => {
      const t = await app()
      const filler = join(volume, 'filler')
      await fill(filler)
      try {
        const before = await files()
        const res = await t.app.request('/uploads', {
          method: 'POST',
          headers: { 'tus-resumable': '1.0.0', 'upload-length': '1000' },
        })
        expect(res.status).toBe(507)
        expect(await res.json()).toEqual(FULL)
        expect(await files()).toEqual(before)
      } finally {
        await rm(filler)
      }
    },
  )
})
