import { LocalStorage } from '@vpp/shared/node'
import { tempDir } from '@vpp/shared/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { form, useIngestFixture } from './test-fixture.ts'
import { tusStorage } from './tus/storage.ts'

const fixture = useIngestFixture()
let dir: Awaited<ReturnType<typeof tempDir>>
beforeAll(async () => {
  dir = await tempDir()
})
afterAll(() => dir?.remove())

describe('tus at /uploads', () => {
  it("answers tus's own refusals (no Tus-Resumable, a malformed header) as JSON errors too", async () => {
    const storage = new LocalStorage(`${dir.path}/uploads`, `${dir.path}/output`)
    const { app } = await fixture.makeApp({ storage, tus: tusStorage(storage, { expiryMs: 3600_000 }) })
    const noVersion = await app.request('/uploads', { method: 'POST', headers: { 'upload-length': '10' } })
    expect(noVersion.status).toBe(412)
    expect(noVersion.headers.get('content-type')).toBe('application/json')
    expect(await noVersion.json()).toEqual({
      error: 'tus_version_required',
      message: 'Tus-Resumable Required',
    })

    const badLength = await app.request('/uploads', {
      method: 'POST',
      headers: { 'tus-resumable': '1.0.0', 'upload-length': 'ten' },
    })
    expect(badLength.status).toBe(400)
    expect(await badLength.json()).toEqual({ error: 'bad_request', message: 'Invalid upload-length' })
  })
})

describe('tus creation over HTTP (the real service)', () => {
  const TUS = { 'Tus-Resumable': '1.0.0' }
  const metadata = `filename ${btoa('clip.mp4')}`

  it('refuses an empty upload (Upload-Length: 0, or an empty multipart file) with 400 empty_file: no job, no file', async () => {
    const ingest = await fixture.serve({ RATE_LIMIT_PER_MINUTE: '2' })
    const create = (length: string) =>
      fetch(`${ingest.url}/uploads`, {
        method: 'POST',
        headers: { ...TUS, 'Upload-Length': length, 'Upload-Metadata': metadata },
      })
    try {
      for (let i = 0; i < 3; i++) {
        const empty = await create('0')
        expect(empty.status).toBe(400)
        expect(await empty.json()).toEqual({ error: 'empty_file', message: 'The file is empty' })
      }
      // Multipart says the same (its rate-limit slot is taken before the body is read).
      const multipart = await fetch(`${ingest.url}/upload`, {
        method: 'POST',
        body: form('clip.mp4', new Uint8Array(0)),
      })
      expect(multipart.status).toBe(400)
      expect(await multipart.json()).toEqual({ error: 'empty_file', message: 'The file is empty' })
      const { keys } = ingest.store
      expect(await fixture.client.xLen(keys.stream)).toBe(0)
      expect(await fixture.client.get(keys.totalJobs)).toBeNull()
      expect(await fixture.client.zCard(keys.index('all'))).toBe(0)
      expect(await fixture.client.keys(keys.tusUpload('*'))).toEqual([])
      expect(await ingest.files()).toEqual([])
      // The empty tus creations took no rate-limit slot: one of the two is left.
      expect((await create('1000')).status).toBe(201)
      expect((await create('1000')).status).toBe(429)
    } finally {
      await ingest.close()
    }
  })
})
