import { LocalStorage } from '@vpp/shared/node'
import { tempDir } from '@vpp/shared/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { useIngestFixture } from './test-fixture.ts'
import { tusStorage } from './tus-storage.ts'

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
