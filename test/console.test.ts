/**
 * The web console in a real browser (Debian's chromium, driven by playwright-core; see
 * browser.ts) against a real pipeline on loopback: an upload through the page's file input
 * reaches 100 % and its job `completed` in the live list without a reload; the job page plays
 * the HLS stream with hls.js and shows storyboard tiles over the seek bar; a poison file
 * dead-letters and is retried from the dead-letter page; with keys on, the page asks for one,
 * refuses a wrong one, and uploads and plays with the right one (CORS preflights to ingest,
 * signed media). Screenshots of each page go to SCREENSHOT_DIR.
 */
import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { copyFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import type { DlqList } from '@vpp/client'
import { freePort } from '@vpp/shared/node'
import {
  makeClip,
  markPlayable,
  mp4Bytes,
  queuedJob,
  startTestRedis,
  type TestRedis,
  takeJob,
  tempDir,
} from '@vpp/shared/testing'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, PHONE, type TestBrowser } from './browser.ts'
import { type Pipeline, startPipeline } from './harness.ts'

const run = promisify(execFile)

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
 * page, hls.js and the player fetch them), with one transcoder unless `transcoder` is false.
 */
async function pipeline(
  name: string,
  extra: Record<string, string> = {},
  transcoder = true,
): Promise<Pipeline> {
  const [statusPort, ingestPort] = [await freePort(), await freePort()]
  const p = await startPipeline(redis, `${dir.path}/${name}`, {
    STATUS_PORT: String(statusPort),
    INGEST_PORT: String(ingestPort),
    PUBLIC_URL: `http://127.0.0.1:${statusPort}`,
    INGEST_PUBLIC_URL: `http://127.0.0.1:${ingestPort}`,
    ...extra,
  })
  if (transcoder) await p.transcoder()
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
    // Each rendition's SSIM against the source, in its own column.
    const rendition = page
      .getByRole('row')
      .filter({ has: page.getByRole('rowheader', { name: '360p', exact: true }) })
    const headers = await page
      .getByRole('table')
      .filter({ has: rendition })
      .getByRole('columnheader')
      .allTextContents()
    // The row's first column is its header, not a cell.
    const ssim = rendition.getByRole('cell').nth(headers.indexOf('SSIM') - 1)
    expect(await ssim.textContent()).toMatch(/^0\.9\d{3}$/)
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

/** An HLS stream as a transcoder publishes it: the master, a rung's init file and segments. */
interface HlsStream {
  master: string
  init: Buffer
  /** The media playlist's lines before its first segment. */
  head: string
  /** Each segment: its `#EXTINF` line and file name, and its bytes. */
  segments: Array<{ entry: string; name: string; bytes: Buffer }>
}

/**
 * `clip` as an HLS stream of 1 s fMP4 segments in one rung, `180p` (the transcoder's layout:
 * `hls/master.m3u8`, `hls/180p/index.m3u8`, `init.mp4`, `segment-NNN.m4s`), written whole by
 * ffmpeg into `dir`, read back so that a test can publish it a chunk at a time.
 */
async function hlsStream(clip: string, dir: string): Promise<HlsStream> {
  await mkdir(`${dir}/180p`, { recursive: true })
  await run('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-i', clip],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-force_key_frames', 'expr:gte(t,n_forced*1)'],
    ...['-c:a', 'aac', '-f', 'hls', '-hls_time', '1', '-hls_playlist_type', 'vod'],
    ...['-hls_segment_type', 'fmp4', '-hls_fmp4_init_filename', 'init.mp4'],
    ...['-hls_segment_filename', `${dir}/180p/segment-%03d.m4s`, '-master_pl_name', 'master.m3u8'],
    `${dir}/180p/index.m3u8`,
  ])
  const playlist = await readFile(`${dir}/180p/index.m3u8`, 'utf8')
  const lines = playlist.trim().split('\n')
  const first = lines.findIndex((line) => line.startsWith('#EXTINF'))
  const segments: HlsStream['segments'] = []
  for (let i = first; i + 1 < lines.length && lines[i]?.startsWith('#EXTINF'); i += 2) {
    const name = lines[i + 1] ?? ''
    segments.push({ entry: `${lines[i]}\n${name}\n`, name, bytes: await readFile(`${dir}/180p/${name}`) })
  }
  return {
    master: (await readFile(`${dir}/180p/master.m3u8`, 'utf8')).replace('index.m3u8', '180p/index.m3u8'),
    init: await readFile(`${dir}/180p/init.mp4`),
    head: `${lines.slice(0, first).join('\n')}\n`,
    segments,
  }
}

describe('the console, a job transcoded in chunks', () => {
  let p: Pipeline
  let page: Page
  beforeAll(async () => {
    // No transcoder: the test publishes the job's stream as one would, chunk by chunk.
    p = await pipeline('chunks', {}, false)
    page = await browser.newPage()
  })
  afterAll(async () => {
    await page?.close()
    await p?.close()
  })

  it('plays the stream from its start while the job processes, as it grows, and on through its completion', async () => {
    const long = await makeClip(`${dir.path}/long.mp4`, { width: 320, height: 180, seconds: 8, audio: true })
    const stream = await hlsStream(long, `${dir.path}/long-hls`)
    expect(stream.segments.length).toBeGreaterThanOrEqual(8)
    const id = randomUUID()
    await p.store.create(queuedJob(id, { filename: 'growing.mp4', profiles: ['360p', 'hls'] }))
    const claim = await takeJob(p.store)
    const folder = `${p.env.DATA_DIR}/output/${id}`
    const rung = `${folder}/hls/180p`
    let written = 0
    /** The rung's playlist with the first `count` segments (new files first), growing or ended. */
    const publish = async (count: number, ended = false) => {
      const segments = stream.segments.slice(0, count)
      for (const segment of segments.slice(written)) await writeFile(`${rung}/${segment.name}`, segment.bytes)
      written = Math.max(written, count)
      const head = ended ? stream.head : stream.head.replace('PLAYLIST-TYPE:VOD', 'PLAYLIST-TYPE:EVENT')
      const playlist = head + segments.map((s) => s.entry).join('') + (ended ? '#EXT-X-ENDLIST\n' : '')
      // Replaced whole, as a writer renames a new file over it: a reader never sees half of one.
      await writeFile(`${rung}/index.m3u8.tmp`, playlist)
      await rename(`${rung}/index.m3u8.tmp`, `${rung}/index.m3u8`)
    }
    await mkdir(rung, { recursive: true })
    await writeFile(`${rung}/init.mp4`, stream.init)
    // Six seconds: hls.js would start such a growing playlist 3 s in, near its live edge.
    await publish(6)
    await writeFile(`${folder}/hls/master.m3u8`, stream.master)
    await markPlayable(p.store, id, new Date())

    await page.goto(`${p.status}/#/jobs/${id}`)
    await page.locator('article.job-page[data-status="processing"]').waitFor()
    const player = page.locator('figure.player[data-player="hls.js"]')
    await player.waitFor()
    const video = page.getByLabel('Video', { exact: true })
    const state = () =>
      video.evaluate((element) => {
        const v = element as HTMLVideoElement
        return {
          time: v.currentTime,
          from: v.played.length ? v.played.start(0) : -1,
          src: v.src,
          ended: v.ended,
        }
      })
    await video.evaluate((element) => {
      const v = element as HTMLVideoElement
      v.playbackRate = 2
      return v.play()
    })
    await expect.poll(async () => (await state()).time, { timeout: 20_000 }).toBeGreaterThan(1)
    expect((await state()).from).toBeLessThan(0.5) // from the start, not the live edge

    // The next chunk: past the six seconds the player first had.
    await publish(stream.segments.length)
    await expect.poll(async () => (await state()).time, { timeout: 20_000 }).toBeGreaterThan(6.5)
    const before = await state()
    await browser.screenshot(page, 'console-job-processing')

    // Completed: the playlist ends, the record has the MP4 too; the player goes on, not reloaded.
    await publish(stream.segments.length, true)
    await copyFile(long, `${folder}/360p.mp4`)
    const output = { width: 320, height: 180, duration: 8, size_bytes: 1, bitrate: 1 }
    await p.store.finish(
      claim,
      {
        status: 'completed',
        outputs: [
          { ...output, profile: '360p', path: `${folder}/360p.mp4`, codec: 'h264' },
          { ...output, profile: 'hls', path: `${folder}/hls/master.m3u8`, codec: 'hls' },
        ],
      },
      new Date(),
    )
    await page.locator('article.job-page[data-status="completed"]').waitFor()
    await page.getByRole('link', { name: 'Download 360p' }).waitFor()
    await expect.poll(async () => (await state()).ended, { timeout: 20_000 }).toBe(true)
    const after = await state()
    expect(after.src).toBe(before.src) // the same MediaSource: hls.js was not loaded again
    expect(after.time).toBeGreaterThan(before.time)
    expect(after.from).toBeLessThan(0.5)
    expect(await player.getAttribute('data-hls-errors')).toBe('0')
    expect(browser.errors(page)).toEqual([])
  })
})
