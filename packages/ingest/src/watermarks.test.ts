import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { LocalStorage } from '@vpp/shared/node'
import { pngBytes, pngHeader } from '@vpp/shared/testing'
import { describe, expect, it } from 'vitest'
import { mp4Bytes, useIngestFixture } from './test-fixture.ts'
import { tusStorage } from './tus/storage.ts'

const fixture = useIngestFixture()
const KEY = 'test-key-0123456789abcdef'
const OTHER = 'other-key-0123456789abcdef'
const bearer = (key: string) => ({ authorization: `Bearer ${key}` })
const LOGO = pngBytes(40, 20, [255, 0, 0, 200])

type App = Awaited<ReturnType<typeof fixture.makeApp>>

/** `POST /watermarks` of `bytes` (as logo.png). */
function addWatermark(
  t: App,
  bytes: Uint8Array<ArrayBuffer>,
  headers: Record<string, string> = {},
  asDefault = false,
) {
  const body = new FormData()
  body.append('file', new Blob([bytes]), 'logo.png')
  if (asDefault) body.append('default', 'true')
  return t.app.request('/watermarks', { method: 'POST', body, headers })
}

/** A video upload, with a `watermark` field and a `watermark_image` part before or after the file. */
function videoForm(options: { watermark?: string; image?: Uint8Array<ArrayBuffer>; imageFirst?: boolean }) {
  const body = new FormData()
  const image = () => options.image && body.append('watermark_image', new Blob([options.image]), 'logo.png')
  if (options.imageFirst) image()
  body.append('file', new Blob([mp4Bytes(1000)]), 'a.mp4')
  if (!options.imageFirst) image()
  if (options.watermark !== undefined) body.append('watermark', options.watermark)
  return body
}

const jobCopy = (t: App, id: string) => join(t.uploadDir, '.assets', `${id}.watermark.png`)

describe('watermarks on ingest', () => {
  it('stores a PNG for its key (201 with its size), which a job names and gets a copy of', async () => {
    const t = await fixture.makeApp()
    const created = await addWatermark(t, LOGO)
    expect(created.status).toBe(201)
    const body = (await created.json()) as { watermark_id: string }
    expect(body).toEqual({
      watermark_id: expect.stringMatching(/^wm_[A-Za-z0-9]{20}$/),
      width: 40,
      height: 20,
      size_bytes: LOGO.byteLength,
      default: false,
    })
    const res = await t.upload(
      videoForm({ watermark: JSON.stringify({ image: body.watermark_id, position: 'top-left' }) }),
    )
    expect(res.status).toBe(202)
    const { job_id } = (await res.json()) as { job_id: string }
    expect((await t.store.get(job_id))?.watermark).toEqual({
      image: body.watermark_id,
      position: 'top-left',
      width: 0.15,
      margin: 0.02,
    })
    expect(new Uint8Array(await readFile(jobCopy(t, job_id)))).toEqual(LOGO)
    // Deleting the stored image leaves the job's copy alone.
    const deleted = await t.app.request(`/watermarks/${body.watermark_id}`, { method: 'DELETE' })
    expect(deleted.status).toBe(204)
    expect((await stat(jobCopy(t, job_id))).size).toBe(LOGO.byteLength)
    const again = await t.upload(videoForm({ watermark: JSON.stringify({ image: body.watermark_id }) }))
    expect(again.status).toBe(400)
    expect(((await again.json()) as { error: string }).error).toBe('invalid_watermark')
  })

  it('takes the watermark_image part before or after the file, placed by the defaults without a watermark field', async () => {
    const t = await fixture.makeApp()
    for (const imageFirst of [true, false]) {
      const res = await t.upload(videoForm({ image: LOGO, imageFirst }))
      expect(res.status).toBe(202)
      const { job_id } = (await res.json()) as { job_id: string }
      expect((await t.store.get(job_id))?.watermark).toEqual({
        position: 'bottom-right',
        width: 0.15,
        margin: 0.02,
      })
      expect(new Uint8Array(await readFile(jobCopy(t, job_id)))).toEqual(LOGO)
    }
  })

  it("uses the key's default when the watermark names no image, and refuses a watermark with none", async () => {
    const t = await fixture.makeApp({ apiKeys: [KEY, OTHER] })
    const none = await t.upload(videoForm({ watermark: '{}' }), bearer(KEY))
    expect(none.status).toBe(400)
    expect(await none.json()).toEqual({
      error: 'invalid_watermark',
      message: expect.stringMatching(/^no watermark image: upload one with the video/),
    })
    const made = (await (await addWatermark(t, LOGO, bearer(KEY), true)).json()) as { watermark_id: string }
    const res = await t.upload(videoForm({ watermark: '{"position":"center"}' }), bearer(KEY))
    expect(res.status).toBe(202)
    const { job_id } = (await res.json()) as { job_id: string }
    expect((await t.store.get(job_id))?.watermark?.image).toBe(made.watermark_id)
    // The default is the key's own: another key still has none, and a job without the option gets none.
    expect((await t.upload(videoForm({ watermark: '{}' }), bearer(OTHER))).status).toBe(400)
    const plain = (await (await t.upload(videoForm({}), bearer(KEY))).json()) as { job_id: string }
    expect((await t.store.get(plain.job_id))?.watermark).toBeUndefined()
    // URL imports name it too.
    const imported = await t.importUrl(
      { url: 'https://cdn.example.com/a.mp4', watermark: { image: made.watermark_id } },
      bearer(KEY),
    )
    expect(imported.status).toBe(202)
    const importedId = ((await imported.json()) as { job_id: string }).job_id
    expect(new Uint8Array(await readFile(jobCopy(t, importedId)))).toEqual(LOGO)
  })

  it("keeps another key's image out of reach: 400 at create (as one that never was), 404 on DELETE", async () => {
    const t = await fixture.makeApp({ apiKeys: [KEY, OTHER] })
    const made = (await (await addWatermark(t, LOGO, bearer(KEY))).json()) as { watermark_id: string }
    const res = await t.upload(
      videoForm({ watermark: JSON.stringify({ image: made.watermark_id }) }),
      bearer(OTHER),
    )
    expect(res.status).toBe(400)
    expect(await res.json()).toEqual({
      error: 'invalid_watermark',
      message: `watermark.image ${made.watermark_id}: no such watermark for this key (POST /watermarks stores one)`,
    })
    const url = await t.importUrl(
      { url: 'https://cdn.example.com/a.mp4', watermark: { image: made.watermark_id } },
      bearer(OTHER),
    )
    expect(url.status).toBe(400)
    const deleted = await t.app.request(`/watermarks/${made.watermark_id}`, {
      method: 'DELETE',
      headers: bearer(OTHER),
    })
    expect(deleted.status).toBe(404)
    expect(await deleted.json()).toEqual({ error: 'not_found', message: `No watermark ${made.watermark_id}` })
    // Still the owner's.
    expect(
      (await t.upload(videoForm({ watermark: JSON.stringify({ image: made.watermark_id }) }), bearer(KEY)))
        .status,
    ).toBe(202)
  })

  it('refuses what is not a PNG, too large a file, and too large an image; nothing is kept', async () => {
    const t = await fixture.makeApp()
    const jpeg = new Uint8Array([
      0xff,
      0xd8,
      0xff,
      0xe0,
      0,
      16,
      ...new TextEncoder().encode('JFIF'),
      ...new Uint8Array(200),
    ])
    const cases: Array<[Uint8Array<ArrayBuffer>, number, string, string]> = [
      [jpeg, 400, 'invalid_watermark', 'The watermark image is not a PNG image'],
      [
        new Uint8Array(5 * 1024 * 1024),
        413,
        'watermark_too_large',
        'The watermark image is over 524288 bytes (WATERMARK_MAX_BYTES)',
      ],
      [
        pngHeader(10_000, 10_000),
        400,
        'invalid_watermark',
        'The watermark image is 10000x10000; at most 2048x2048 pixels (WATERMARK_MAX_SIDE)',
      ],
    ]
    for (const [bytes, status, error, message] of cases) {
      const stored = await addWatermark(t, bytes)
      expect([stored.status, await stored.json()]).toEqual([status, { error, message }])
      const withVideo = await t.upload(videoForm({ image: bytes }))
      expect([withVideo.status, await withVideo.json()]).toEqual([status, { error, message }])
    }
    expect(await t.files()).toEqual([])
  })

  it('names a stored image in tus metadata: checked and copied at creation, so deleting it meanwhile loses nothing', async () => {
    const base = await fixture.makeApp()
    const storage = new LocalStorage(base.uploadDir, `${base.uploadDir}/../out`)
    const t = await fixture.makeApp({ storage, tus: tusStorage(storage, { expiryMs: 3600_000 }) })
    const made = (await (await addWatermark(t, LOGO)).json()) as { watermark_id: string }
    const create = (watermark: string) =>
      t.app.request('/uploads', {
        method: 'POST',
        headers: {
          'tus-resumable': '1.0.0',
          'upload-length': '1000',
          'upload-metadata': `filename ${btoa('a.mp4')},watermark ${btoa(watermark)}`,
        },
      })
    const unknown = await create('{"image":"wm_000000000000"}')
    expect(unknown.status).toBe(400)
    expect(((await unknown.json()) as { error: string }).error).toBe('invalid_watermark')
    const created = await create(JSON.stringify({ image: made.watermark_id, position: 'center' }))
    expect(created.status).toBe(201)
    const id = (created.headers.get('location') ?? '').split('/').pop() ?? ''
    // Deleted while the video is still on its way: the job has its copy already.
    expect((await t.app.request(`/watermarks/${made.watermark_id}`, { method: 'DELETE' })).status).toBe(204)
    const patched = await t.app.request(`/uploads/${id}`, {
      method: 'PATCH',
      headers: {
        'tus-resumable': '1.0.0',
        'upload-offset': '0',
        'content-type': 'application/offset+octet-stream',
      },
      body: mp4Bytes(1000),
    })
    expect(patched.status).toBe(204)
    expect((await t.store.get(id))?.watermark).toEqual({
      image: made.watermark_id,
      position: 'center',
      width: 0.15,
      margin: 0.02,
    })
    expect(new Uint8Array(await readFile(join(storage.dir, '.assets', `${id}.watermark.png`)))).toEqual(LOGO)
  })
})
