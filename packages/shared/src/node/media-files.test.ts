import { mkdir, writeFile } from 'node:fs/promises'
import { relative } from 'node:path'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../testing/redis.ts'
import { mediaFiles } from './media-files.ts'

let dir: Awaited<ReturnType<typeof tempDir>>
beforeAll(async () => {
  dir = await tempDir()
})
afterAll(async () => {
  await dir.remove()
})

describe('mediaFiles', () => {
  it('serves from a relative OUTPUT_DIR that only appears after the server started (npm start)', async () => {
    const outputDir = relative(process.cwd(), `${dir.path}/output`)
    const app = new Hono()
    app.get(
      '/media/:file{.+}',
      mediaFiles(outputDir, (c) => c.req.param('file') ?? ''),
    )
    expect((await app.request('/media/job-1/360p.mp4')).status).toBe(404) // nothing there yet
    await mkdir(`${dir.path}/output/job-1`, { recursive: true })
    await writeFile(`${dir.path}/output/job-1/360p.mp4`, 'not really a video')
    const res = await app.request('/media/job-1/360p.mp4')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('video/mp4')
    expect(await res.text()).toBe('not really a video')
  })
})
