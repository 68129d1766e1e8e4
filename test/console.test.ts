/**
 * The web console in a real browser (Debian's chromium, driven by playwright-core; see
 * browser.ts) against a real pipeline on loopback: an upload through the page's file input
 * reaches 100 % and its job `completed` in the live list without a reload; the job page plays
 * the HLS stream with hls.js and shows storyboard tiles over the seek bar; a poison file
 * dead-letters and is retried from the dead-letter page; with keys on, the page asks for one,
 * refuses a wrong one, and uploads and plays with the right one (CORS preflights to ingest,
 * signed media). Screenshots of each page go to SCREENSHOT_DIR.
 */
import { writeFile } from 'node:fs/promises'
import type { DlqList } from '@vpp/client'
import { freePort } from '@vpp/shared/node'
import { makeClip, mp4Bytes, startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, PHONE, type TestBrowser } from './browser.ts'
import { type Pipeline, startPipeline } from './harness.ts'

let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let browser: TestBrowser
let clip = ''
/** Passes the upload's content check, but is no video: its job fails for good. */
let poison = ''

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
  clip = await makeClip(`${dir.path}/clip.mp4`, { width: 640, height: 360, seconds: 3, audio: true })
  poison = `${dir.path}/poison.mp4`
  await writeFile(poison, mp4Bytes())
  browser = await launchBrowser()
})
afterAll(async () => {
  await browser?.close()
  await redis?.stop()
  await dir?.remove()
})

/**
 * A pipeline whose media URLs and console settings name the ports it really listens on (the
 * page, hls.js and the player fetch them), with one transcoder.
 */
async function pipeline(name: string, extra: Record<string, string> = {}): Promise<Pipeline> {
  const [statusPort, ingestPort] = [await freePort(), await freePort()]
  const p = await startPipeline(redis, `${dir.path}/${name}`, {
    STATUS_PORT: String(statusPort),
    INGEST_PORT: String(ingestPort),
    PUBLIC_URL: `http://127.0.0.1:${statusPort}`,
    INGEST_PUBLIC_URL: `http://127.0.0.1:${ingestPort}`,
    ...extra,
  })
  await p.transcoder()
  return p
}

/**
 * The page's controls that have no accessible name: no aria-label(ledby), no label, no text
 * (a button's, a link's), no alt or title.
 */
const unnamedControls = (page: Page) =>
  page.evaluate(() =>
    [
      ...document.querySelectorAll(
        'button, input, select, textarea, a[href], [role="slider"], progress, video',
      ),
    ]
      .filter((element) => {
        const labelled = element.getAttribute('aria-labelledby')
        const named =
          element.getAttribute('aria-label') ||
          (labelled && document.getElementById(labelled)?.textContent?.trim()) ||
          ((element as HTMLInputElement).labels?.length ?? 0) > 0 ||
          element.textContent?.trim() ||
          element.getAttribute('title') ||
          element.getAttribute('alt')
        return !named
      })
      .map((element) => element.outerHTML.slice(0, 120)),
  )

/** The value of the progress bar named `name`. */
const progressOf = (page: Page, name: string) =>
  page.getByRole('progressbar', { name }).evaluate((bar) => (bar as HTMLProgressElement).value)

describe('the console, keys off', () => {
  let p: Pipeline
  let page: Page
  beforeAll(async () => {
    p = await pipeline('open')
    page = await browser.newPage()
  })
  afterAll(async () => {
    await page?.close()
    await p?.close()
  })

  it('uploads through the file input to 100 %, and the job completes in the list live', async () => {
    await page.goto(`${p.status}/`)
    await page.getByRole('heading', { name: 'Jobs' }).waitFor()
    // Gone if the page reloads: the list must change by itself.
    await page.evaluate(() => Object.assign(window, { sameDocument: true }))
    await page.getByLabel('Video files to upload').setInputFiles(clip)
    await expect.poll(() => progressOf(page, 'Upload of clip.mp4'), { timeout: 20_000 }).toBe(100)
    const row = page.locator('li.job', { has: page.getByRole('link', { name: 'clip.mp4' }) })
    await row.and(page.locator('[data-status="completed"]')).waitFor({ timeout: 60_000 })
    expect(await progressOf(page, 'Progress of clip.mp4')).toBe(100)
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(
      true,
    )
    const id = await row.getAttribute('data-job-id')
    expect((await p.store.get(id ?? ''))?.status).toBe('completed')
    await browser.screenshot(page, 'console-jobs')
    expect(await unnamedControls(page)).toEqual([])
    expect(browser.errors(page)).toEqual([])
  })

  it('plays the job’s HLS stream with hls.js, and shows a storyboard tile over the seek bar', async () => {
    await page.getByRole('link', { name: 'clip.mp4' }).first().click()
    await page.getByRole('heading', { name: 'clip.mp4' }).waitFor()
    const player = page.locator('figure.player[data-player="hls.js"]')
    await player.waitFor()
    const video = page.getByLabel('Video', { exact: true })
    await video.evaluate((element) => (element as HTMLVideoElement).play())
    await expect
      .poll(() => video.evaluate((element) => (element as HTMLVideoElement).currentTime), { timeout: 20_000 })
      .toBeGreaterThan(1)
    expect(await player.getAttribute('data-hls-errors')).toBe('0')

    const seek = page.getByRole('slider', { name: 'Seek' })
    const box = await seek.boundingBox()
    if (!box) throw new Error('the seek bar has no box')
    await page.mouse.move(box.x + box.width * 0.7, box.y + box.height / 2)
    const tile = page.getByRole('img', { name: /^Preview at 0:0\d$/ })
    await tile.waitFor()
    // The tile is a part of the sprite sheet, which the browser fetched.
    const sheet = await tile.evaluate((element) => getComputedStyle(element).backgroundImage)
    const url = /url\("(.+)"\)/.exec(sheet)?.[1] ?? ''
    const res = await fetch(url)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('image/jpeg')
    expect(await page.getByRole('link', { name: 'Download 360p' }).getAttribute('href')).toMatch(/360p\.mp4$/)
    await browser.screenshot(page, 'console-job')
    expect(await unnamedControls(page)).toEqual([])

    // At phone width nothing spills sideways (the renditions table scrolls in its own box).
    await page.mouse.move(0, 0) // the tile goes with the pointer
    await tile.waitFor({ state: 'detached' })
    await page.setViewportSize(PHONE)
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width)
    await browser.screenshot(page, 'console-job-phone')
    await page.setViewportSize({ width: 1280, height: 800 })
    expect(browser.errors(page)).toEqual([])
  })

  it('lists a poison file’s dead letter, and retries it from the dead-letter page', async () => {
    const id = await p.upload(poison)
    await p.waitFor(id, ['failed'])
    const first = (await (await fetch(`${p.status}/dlq`)).json()) as DlqList
    const entry = first.entries.find((e) => e.job_id === id)
    expect(entry).toBeDefined()

    await page.goto(`${p.status}/#/dlq`)
    const item = page.locator(`li[data-job-id="${id}"]`)
    await item.waitFor()
    // The header's stats count it (they are read every few seconds, and on each page change).
    await expect
      .poll(() => page.getByLabel('Pipeline stats').innerText(), { timeout: 10_000 })
      .toMatch(/Dead letters\s+1\b/)
    await browser.screenshot(page, 'console-dead-letters')
    expect(await unnamedControls(page)).toEqual([])
    await item.getByRole('button', { name: 'Retry poison.mp4' }).click()
    await page.getByRole('status').filter({ hasText: 'poison.mp4 is queued again.' }).waitFor()
    // Queued again: it ran once more, failed again, and is a new entry (the old one left the queue).
    await expect
      .poll(
        async () => {
          const list = (await (await fetch(`${p.status}/dlq`)).json()) as DlqList
          return list.entries.filter((e) => e.job_id === id).map((e) => e.message_id)
        },
        { timeout: 30_000 },
      )
      .toEqual([expect.not.stringMatching(`^${entry?.message_id}$`)])
    // The page lists the new entry by itself (it reads the queue every few seconds).
    await item.waitFor()
    expect(browser.errors(page)).toEqual([])
  })

  it('shows a file name made of HTML as text: nothing of it runs', async () => {
    const name = '<img src=x onerror="window.pwned=1">.mp4'
    const res = await p.uploadResponse(poison, name)
    expect(res.status).toBe(202)
    await page.goto(`${p.status}/#/`)
    const link = page.locator('li.job a.name').filter({ hasText: 'onerror' })
    await link.waitFor()
    expect(await link.innerText()).toContain('<img')
    expect(await page.locator('li.job img').count()).toBe(0)
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined()
  })
})

describe('the console, keys on', () => {
  const KEY = 'console-user-key-0123456789'
  let p: Pipeline
  let page: Page
  beforeAll(async () => {
    p = await pipeline('keys', {
      API_KEYS: KEY,
      ADMIN_API_KEYS: 'console-admin-key-0123456789',
      MEDIA_SIGNING_SECRET: 'console-media-secret-0123456789abcdef-0123',
    })
    page = await browser.newPage()
  })
  afterAll(async () => {
    await page?.close()
    await p?.close()
  })

  it('asks for a key, refuses a wrong one, and with the right one uploads and plays', async () => {
    await page.goto(`${p.status}/`)
    const key = page.getByLabel('API key')
    await key.waitFor()
    await browser.screenshot(page, 'console-sign-in')
    expect(await unnamedControls(page)).toEqual([])
    await key.fill('not-a-key-of-this-pipeline')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('alert').filter({ hasText: 'That key was refused.' }).waitFor()
    expect(await page.getByRole('heading', { name: 'Jobs' }).count()).toBe(0)

    await key.fill(KEY)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'Jobs' }).waitFor()
    // Kept for the tab: a reload stays signed in.
    await page.reload()
    await page.getByRole('heading', { name: 'Jobs' }).waitFor()

    await page.getByLabel('Video files to upload').setInputFiles(clip)
    const row = page.locator('li.job[data-status="completed"]', {
      has: page.getByRole('link', { name: 'clip.mp4' }),
    })
    await row.waitFor({ timeout: 60_000 })
    await row.getByRole('link', { name: 'clip.mp4' }).click()
    const video = page.getByLabel('Video', { exact: true })
    await page.locator('figure.player[data-player="hls.js"]').waitFor()
    await video.evaluate((element) => (element as HTMLVideoElement).play())
    await expect
      .poll(() => video.evaluate((element) => (element as HTMLVideoElement).currentTime), { timeout: 20_000 })
      .toBeGreaterThan(1)
    // Media URLs are signed: the page sends no key for them.
    expect(await page.getByRole('link', { name: 'Download 360p' }).getAttribute('href')).toMatch(
      /\/media\/\d+\.[\w-]+\//,
    )
    // A plain key sees no stats, and the dead-letter page says what it needs.
    await page.goto(`${p.status}/#/dlq`)
    await page.getByRole('alert').filter({ hasText: 'needs an admin key' }).waitFor()
    expect(await page.getByLabel('Pipeline stats').count()).toBe(0)
    expect(browser.errors(page).filter((e) => !/status of 40[13]/.test(e))).toEqual([])
  })
})
