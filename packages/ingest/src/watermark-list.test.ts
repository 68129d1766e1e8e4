import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { pngBytes } from '@vpp/shared/testing'
import { describe, expect, it } from 'vitest'
import { useIngestFixture } from './test-fixture.ts'

const fixture = useIngestFixture()
const KEY = 'test-key-0123456789abcdef'
const OTHER = 'other-key-0123456789abcdef'
const bearer = (key: string) => ({ authorization: `Bearer ${key}` })
const LOGO = pngBytes(40, 20, [255, 0, 0, 200])
const WIDE = pngBytes(64, 8)

type App = Awaited<ReturnType<typeof fixture.makeApp>>
interface Listed {
  watermark_id: string
  width: number
  height: number
  size_bytes: number
  created_at: string
  default: boolean
}

function addWatermark(t: App, bytes: Uint8Array<ArrayBuffer>, key?: string, asDefault = false) {
  const body = new FormData()
  body.append('file', new Blob([bytes]), 'logo.png')
  if (asDefault) body.append('default', 'true')
  return t.app.request('/watermarks', { method: 'POST', body, headers: key ? bearer(key) : {} })
}

async function added(t: App, bytes: Uint8Array<ArrayBuffer>, key?: string, asDefault = false) {
  const res = await addWatermark(t, bytes, key, asDefault)
  expect(res.status).toBe(201)
  return ((await res.json()) as { watermark_id: string }).watermark_id
}

async function list(t: App, key?: string): Promise<Listed[]> {
  const res = await t.app.request('/watermarks', { headers: key ? bearer(key) : {} })
  expect(res.status).toBe(200)
  return ((await res.json()) as { watermarks: Listed[] }).watermarks
}

/** The stored images' files (`watermark-wm_….png`) in the app's storage. */
const storedFiles = async (t: App) =>
  (await readdir(join(t.uploadDir, '.assets')).catch(() => [] as string[])).filter((f) =>
    f.startsWith('watermark-'),
  )

const LIMIT = {
  error: 'watermark_limit',
  message:
    'This key keeps 2 watermark images already (WATERMARK_MAX_PER_KEY); delete some (DELETE /watermarks/{id}) first',
}

describe('watermark images: the per-key limit and the list', () => {
  it('keeps at most WATERMARK_MAX_PER_KEY a key (409 watermark_limit, the image not kept); a delete makes room', async () => {
    const t = await fixture.makeApp({ apiKeys: [KEY, OTHER], watermarkMaxPerKey: 2 })
    const first = await added(t, LOGO, KEY)
    await added(t, LOGO, KEY)
    const third = await addWatermark(t, LOGO, KEY)
    expect([third.status, await third.json()]).toEqual([409, LIMIT])
    expect(await storedFiles(t)).toHaveLength(2)
    // Per key: the other key has room of its own.
    await added(t, LOGO, OTHER)
    expect(
      (await t.app.request(`/watermarks/${first}`, { method: 'DELETE', headers: bearer(KEY) })).status,
    ).toBe(204)
    await added(t, WIDE, KEY)
    expect((await addWatermark(t, LOGO, KEY)).status).toBe(409)
    expect(await storedFiles(t)).toHaveLength(3)
  })

  it('lets one of two parallel posts at the limit through, and five at once from none only as many as the limit', async () => {
    const t = await fixture.makeApp({ watermarkMaxPerKey: 2 })
    await added(t, LOGO)
    const pair = await Promise.all([addWatermark(t, LOGO), addWatermark(t, LOGO)])
    expect(pair.map((r) => r.status).sort()).toEqual([201, 409])
    expect(await list(t)).toHaveLength(2)
    expect(await storedFiles(t)).toHaveLength(2)

    const u = await fixture.makeApp({ watermarkMaxPerKey: 3 })
    const five = await Promise.all(Array.from({ length: 5 }, () => addWatermark(u, LOGO)))
    expect(five.map((r) => r.status).sort()).toEqual([201, 201, 201, 409, 409])
    expect(await list(u)).toHaveLength(3)
    expect(await storedFiles(u)).toHaveLength(3)
  })

  it("lists the caller's own images, newest first, the default flagged; another key sees none of them", async () => {
    const t = await fixture.makeApp({ apiKeys: [KEY, OTHER] })
    expect(await list(t, KEY)).toEqual([])
    const older = await added(t, LOGO, KEY)
    await new Promise((resolve) => setTimeout(resolve, 5))
    const newer = await added(t, WIDE, KEY, true)
    const mine = await list(t, KEY)
    expect(mine).toEqual([
      {
        watermark_id: newer,
        width: 64,
        height: 8,
        size_bytes: WIDE.byteLength,
        created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        default: true,
      },
      {
        watermark_id: older,
        width: 40,
        height: 20,
        size_bytes: LOGO.byteLength,
        created_at: expect.any(String),
        default: false,
      },
    ])
    expect(Date.parse(mine[0]?.created_at ?? '')).toBeGreaterThan(Date.parse(mine[1]?.created_at ?? ''))
    expect(await list(t, OTHER)).toEqual([])
    const theirs = await added(t, LOGO, OTHER)
    expect((await list(t, OTHER)).map((w) => w.watermark_id)).toEqual([theirs])
    // Deleted: gone from the list, and no longer the default.
    await t.app.request(`/watermarks/${newer}`, { method: 'DELETE', headers: bearer(KEY) })
    expect((await list(t, KEY)).map((w) => [w.watermark_id, w.default])).toEqual([[older, false]])
    expect((await t.app.request('/watermarks')).status).toBe(401)
  })

  it('without keys lists the one shared set', async () => {
    const t = await fixture.makeApp()
    const id = await added(t, LOGO, undefined, true)
    expect((await list(t)).map((w) => [w.watermark_id, w.default])).toEqual([[id, true]])
  })
})
