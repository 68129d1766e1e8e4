/**
 * A caption track as a viewer meets it: added on the job's page in the console, listed in the
 * HLS master, offered by the player's Captions menu (hls.js), and shown in Chromium as a
 * `subtitles` text track whose cue is active at its time and not before; deleted again. Real
 * Chromium, real HTTP, real Redis, real ffmpeg.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type Job, JobSchema, UploadResponseSchema } from '@vpp/shared'
import { freePort } from '@vpp/shared/node'
import { makeClip, startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, type TestBrowser } from './browser.ts'
import { type Pipeline, startPipeline } from './harness.ts'

let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let browser: TestBrowser
let p: Pipeline
let job: Job

beforeAll(async () => {
  ;[redis, dir] = await Promise.all([startTestRedis(), tempDir()])
  const clip = await makeClip(join(dir.path, 'clip.mp4'), {
    width: 640,
    height: 360,
    seconds: 4,
    audio: true,
  })
  const [statusPort, ingestPort] = [await freePort(), await freePort()]
  p = await startPipeline(redis, join(dir.path, 'data'), {
    STATUS_PORT: String(statusPort),
    INGEST_PORT: String(ingestPort),
    PUBLIC_URL: `http://127.0.0.1:${statusPort}`,
    INGEST_PUBLIC_URL: `http://127.0.0.1:${ingestPort}`,
    TRANSCODE_PROFILES: '360p,hls',
  })
  await p.transcoder()
  const body = new FormData()
  body.append('file', new Blob([await readFile(clip)]), 'clip.mp4')
  const res = await fetch(`${p.ingest}/upload`, { method: 'POST', body })
  job = await p.waitFor(UploadResponseSchema.parse(await res.json()).job_id, ['completed', 'failed'])
  expect(job.status, job.error).toBe('completed')
  browser = await launchBrowser()
}, 120_000)
afterAll(async () => {
  await browser?.close()
  await p?.close()
  await redis?.stop()
  await dir?.remove()
})

/** The video's text tracks: kind, label, language, mode, cues (when loaded) and the active ones. */
const textTracks = (page: Page) =>
  page.getByLabel('Video', { exact: true }).evaluate((element) =>
    [...(element as HTMLVideoElement).textTracks].map((track) => ({
      kind: track.kind,
      label: track.label,
      language: track.language,
      mode: track.mode,
      cues: [...(track.cues ?? [])].map((cue) => ({
        start: Math.round(cue.startTime * 1000) / 1000,
        end: Math.round(cue.endTime * 1000) / 1000,
        text: (cue as VTTCue).text,
      })),
      active: [...(track.activeCues ?? [])].map((cue) => (cue as VTTCue).text),
    })),
  )

/** Seek the video to `seconds` and wait for the seek to land. */
const seek = (page: Page, seconds: number) =>
  page.getByLabel('Video', { exact: true }).evaluate(
    (element, to) =>
      new Promise<void>((resolve) => {
        const video = element as HTMLVideoElement
        video.addEventListener('seeked', () => resolve(), { once: true })
        video.currentTime = to
      }),
    seconds,
  )

describe('caption tracks in the console', () => {
  it('adds a track on the job page, offers it in the player, shows its cue at its time, and deletes it', async () => {
    const srt = join(dir.path, 'english.srt')
    await writeFile(
      srt,
      '1\n00:00:01,000 --> 00:00:02,500\nHello <b>captions</b>\n\n2\n00:00:03,000 --> 00:00:03,800\nBye\n',
    )
    const page = await browser.newPage()
    await page.goto(`${p.status}/#/jobs/${job.job_id}`)
    await page.locator('figure.player[data-player="hls.js"]').waitFor()
    expect(await page.getByLabel('Captions', { exact: true }).count()).toBe(0)

    await page.getByLabel('Caption file').setInputFiles(srt)
    await page.getByLabel('Language').fill('en')
    await page.getByLabel('Label').fill('English')
    await page.getByRole('button', { name: 'Add captions' }).click()
    await page.getByRole('button', { name: 'Delete English captions' }).waitFor()
    const record = JobSchema.parse(await (await fetch(`${p.status}/jobs/${job.job_id}`)).json())
    expect(record.captions?.map((c) => [c.language, c.label])).toEqual([['en', 'English']])

    // The player, reloaded with the new master, offers the track, off until picked.
    const menu = page.getByLabel('Captions', { exact: true })
    await menu.waitFor()
    expect(await menu.locator('option').allTextContents()).toEqual(['Off', 'English (en)'])
    expect(await menu.inputValue()).toBe('-1')
    await menu.selectOption({ label: 'English (en)' })

    await expect
      .poll(async () => (await textTracks(page)).find((t) => t.label === 'English')?.cues.length ?? 0, {
        timeout: 15_000,
      })
      .toBe(2)
    const track = (await textTracks(page)).find((t) => t.label === 'English')
    expect(track).toMatchObject({ kind: 'subtitles', language: 'en', mode: 'showing' })
    // Cue times as written: the master's media time 0 is the cues' time 0.
    expect(track?.cues).toEqual([
      { start: 1, end: 2.5, text: 'Hello <b>captions</b>' },
      { start: 3, end: 3.8, text: 'Bye' },
    ])
    const active = async () => (await textTracks(page)).find((t) => t.label === 'English')?.active
    await seek(page, 0.5)
    await expect.poll(active).toEqual([])
    await seek(page, 1.6)
    await expect.poll(active).toEqual(['Hello <b>captions</b>'])
    await seek(page, 2.7)
    await expect.poll(active).toEqual([])
    await browser.screenshot(page, 'console-captions')

    await page.getByRole('button', { name: 'Delete English captions' }).click()
    await page.getByText('No caption tracks.').waitFor()
    await page.locator('figure.player[data-player="hls.js"]').waitFor()
    expect(await page.getByLabel('Captions', { exact: true }).count()).toBe(0)
    expect(await page.locator('figure.player').getAttribute('data-hls-errors')).toBe('0')
    expect(browser.errors(page)).toEqual([])
    await page.close()
  })
})
