/**
 * The console's watermark options in a real browser (Debian's chromium, see browser.ts) against a
 * real pipeline: a PNG picked in the options is stored for the key, then named by the next
 * upload, at the position chosen; a file that is no PNG is refused with the service's message.
 * No transcoder: the job's record is what is checked.
 */
import { writeFile } from 'node:fs/promises'
import { freePort } from '@vpp/shared/node'
import { makeClip, pngBytes, startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, type TestBrowser } from './browser.ts'
import { type Pipeline, startPipeline } from './harness.ts'

let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let browser: TestBrowser
let p: Pipeline

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
  browser = await launchBrowser()
  const [statusPort, ingestPort] = [await freePort(), await freePort()]
  p = await startPipeline(redis, `${dir.path}/data`, {
    STATUS_PORT: String(statusPort),
    INGEST_PORT: String(ingestPort),
    PUBLIC_URL: `http://127.0.0.1:${statusPort}`,
    INGEST_PUBLIC_URL: `http://127.0.0.1:${ingestPort}`,
  })
})
afterAll(async () => {
  await p?.close()
  await browser?.close()
  await redis?.stop()
  await dir?.remove()
})

describe('the console, watermark options', () => {
  it('stores a picked PNG and names it, at the chosen position, in the next upload', async () => {
    const clip = await makeClip(`${dir.path}/clip.mp4`, { width: 320, height: 180, seconds: 1, audio: false })
    const logo = `${dir.path}/logo.png`
    const notPng = `${dir.path}/photo.png`
    await writeFile(logo, pngBytes(48, 24, [0, 255, 0, 255]))
    await writeFile(notPng, new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16, 74, 70, 73, 70, 0]))
    const page = await browser.newPage()
    try {
      await page.goto(`${p.status}/`)
      await page.getByText('Options: profiles, metadata, clip, loudness, watermark').click()
      const picker = page.getByLabel('New watermark image (PNG)')
      await picker.setInputFiles(notPng)
      await page
        .getByRole('status')
        .filter({ hasText: 'photo.png: The watermark image is not a PNG image' })
        .waitFor()
      await picker.setInputFiles(logo)
      const stored = page.getByRole('status').filter({ hasText: /logo\.png: stored as wm_\w+ \(48x24\)/ })
      await stored.waitFor()
      const id = /wm_\w+/.exec((await stored.textContent()) ?? '')?.[0]
      expect(await page.getByLabel('Watermark image', { exact: true }).inputValue()).toBe(id)
      await page.getByLabel('Watermark position').selectOption('top-left')
      await page.getByLabel('Video files to upload').setInputFiles(clip)
      const row = page.locator('li.job', { has: page.getByRole('link', { name: 'clip.mp4' }) })
      await row.waitFor({ timeout: 20_000 })
      const jobId = (await row.getAttribute('data-job-id')) ?? ''
      expect((await p.store.get(jobId))?.watermark).toEqual({
        image: id,
        position: 'top-left',
        width: 0.15,
        margin: 0.02,
      })
      await browser.screenshot(page, 'console-watermark')
      expect(browser.errors(page).filter((e) => !/status of 400/.test(e))).toEqual([])
    } finally {
      await page.close()
    }
  }, 60_000)
})
