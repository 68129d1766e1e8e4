/**
 * test/browser.ts itself, so that the browser tests' `errors(page)` toEqual([]) means something:
 * a page served on loopback that logs an error, loads a missing image and throws has each of
 * them collected, a clean page none; screenshots land in SCREENSHOT_DIR; pages take their own
 * viewport.
 */
import { readFile, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DESKTOP, launchBrowser, PHONE, SCREENSHOT_DIR, type TestBrowser } from './browser.ts'

const PAGES: Record<string, string> = {
  '/clean': '<!doctype html><title>clean</title><link rel="icon" href="data:,"><p>Nothing wrong here</p>',
  '/broken': `<!doctype html><title>broken</title><link rel="icon" href="data:,">
<img src="/missing.png" alt="">
<script>console.error('logged on purpose'); throw new Error('thrown on purpose')</script>`,
}

let server: Server
let base = ''
let browser: TestBrowser

beforeAll(async () => {
  server = createServer((req, res) => {
    const html = PAGES[req.url ?? '']
    res.writeHead(html ? 200 : 404, { 'content-type': 'text/html' }).end(html ?? 'not found')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  browser = await launchBrowser()
})
afterAll(async () => {
  await browser?.close()
  await new Promise((resolve) => server?.close(resolve))
})

describe('launchBrowser', () => {
  it("collects a page's console errors, failed loads and uncaught exceptions", async () => {
    const page = await browser.newPage()
    await page.goto(`${base}/broken`)
    await expect.poll(() => browser.errors(page).length).toBe(3)
    const errors = browser.errors(page)
    expect(errors).toContainEqual(expect.stringMatching(/^console: logged on purpose/))
    expect(errors).toContainEqual(
      expect.stringMatching(/^console: Failed to load resource.*404.*missing\.png/),
    )
    expect(errors).toContainEqual(expect.stringMatching(/^pageerror: Error: thrown on purpose/))
    await page.close()
  })

  it('collects nothing on a clean page, and each page only its own', async () => {
    const broken = await browser.newPage()
    await broken.goto(`${base}/broken`)
    const clean = await browser.newPage()
    await clean.goto(`${base}/clean`)
    await expect.poll(() => browser.errors(broken).length).toBe(3)
    expect(browser.errors(clean)).toEqual([])
    await Promise.all([broken.close(), clean.close()])
  })

  it('opens pages at 1280x800, or at the viewport given', async () => {
    const desktop = await browser.newPage()
    const phone = await browser.newPage({ viewport: PHONE })
    for (const [page, viewport] of [
      [desktop, DESKTOP],
      [phone, PHONE],
    ] as const) {
      await page.goto(`${base}/clean`)
      expect(await page.evaluate(() => ({ width: innerWidth, height: innerHeight }))).toEqual(viewport)
    }
    await Promise.all([desktop.close(), phone.close()])
  })

  it('writes a full-page PNG to SCREENSHOT_DIR', async () => {
    const page = await browser.newPage()
    await page.goto(`${base}/clean`)
    const path = await browser.screenshot(page, 'browser-self-test')
    expect(path).toBe(`${SCREENSHOT_DIR}/browser-self-test.png`)
    const png = await readFile(path)
    expect(png.subarray(1, 4).toString()).toBe('PNG')
    expect(png.readUInt32BE(16)).toBe(DESKTOP.width) // IHDR width
    await rm(path)
    await expect(browser.screenshot(page, '../outside')).rejects.toThrow(/screenshot name/)
    await page.close()
  })
})
