/**
 * The console's "Download original" in a real browser (Debian's chromium, see browser.ts) against
 * a real pipeline: shown on the page of a job whose upload is kept (KEEP_ORIGINALS), it saves the
 * very bytes uploaded; absent on a job whose upload was not kept.
 */
import { readFile } from 'node:fs/promises'
import { freePort, type RunningService } from '@vpp/shared/node'
import { makeClip, startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, type TestBrowser } from './browser.ts'
import { type Pipeline, startPipeline } from './harness.ts'

let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let browser: TestBrowser
let pipeline: Pipeline
let clip = ''

beforeAll(async () => {
  ;[redis, dir, browser] = await Promise.all([startTestRedis(), tempDir(), launchBrowser()])
  clip = await makeClip(`${dir.path}/clip.mp4`, { width: 320, height: 180, seconds: 1, audio: true })
  const [statusPort, ingestPort] = [await freePort(), await freePort()]
  pipeline = await startPipeline(redis, `${dir.path}/data`, {
    STATUS_PORT: String(statusPort),
    INGEST_PORT: String(ingestPort),
    PUBLIC_URL: `http://127.0.0.1:${statusPort}`,
    INGEST_PUBLIC_URL: `http://127.0.0.1:${ingestPort}`,
    TRANSCODE_PROFILES: '360p',
  })
})
afterAll(async () => {
  await pipeline?.close()
  await browser?.close()
  await redis?.stop()
  await dir?.remove()
})

describe('console: Download original', () => {
  it('saves the upload of a job kept with KEEP_ORIGINALS, and is not offered without it', async () => {
    let transcoder: RunningService = await pipeline.transcoder({ KEEP_ORIGINALS: 'true' })
    const kept = await pipeline.upload(clip, 'kept.mp4')
    expect((await pipeline.waitFor(kept, ['completed', 'failed'])).original).toBe('kept')
    await transcoder.close()
    transcoder = await pipeline.transcoder()
    const plain = await pipeline.upload(clip, 'plain.mp4')
    expect((await pipeline.waitFor(plain, ['completed', 'failed'])).status).toBe('completed')

    const page = await browser.newPage()
    await page.goto(`${pipeline.status}/#/jobs/${kept}`)
    await page.locator('article.job-page[data-status="completed"]').waitFor()
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download original' }).click(),
    ])
    expect(download.suggestedFilename()).toBe('kept.mp4')
    const saved = await download.path()
    expect((await readFile(saved)).equals(await readFile(clip))).toBe(true)
    await browser.screenshot(page, 'console-job-original')

    await page.goto(`${pipeline.status}/#/jobs/${plain}`)
    await page.locator('article.job-page[data-status="completed"]').waitFor()
    await page.getByRole('heading', { name: 'plain.mp4' }).waitFor()
    expect(await page.getByRole('button', { name: 'Download original' }).count()).toBe(0)
    expect(browser.errors(page)).toEqual([])
  })
})
