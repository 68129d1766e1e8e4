/**
 * The interactive API reference (`GET /docs`) of ingest and status in a real browser: Debian's
 * chromium, headless (test/browser.ts), against a real pipeline on loopback. Swagger UI renders
 * every operation of the service's /openapi.json, with no console error or uncaught exception,
 * at desktop and phone width (no horizontal scrolling), and with API keys on too: the page, its files and the document
 * need no key. Screenshots: docs-ingest, docs-status, docs-ingest-phone (SCREENSHOT_DIR).
 */
import { existsSync } from 'node:fs'
import { startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, PHONE, type TestBrowser } from './browser.ts'
import { type Pipeline, startPipeline } from './harness.ts'

const KEY = 'docs-page-key-0123456789abcdef'

let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let open: Pipeline
let keyed: Pipeline
let browser: TestBrowser

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
  ;[open, keyed, browser] = await Promise.all([
    startPipeline(redis, `${dir.path}/open`),
    startPipeline(redis, `${dir.path}/keyed`, {
      API_KEYS: KEY,
      MEDIA_SIGNING_SECRET: 'docs-page-media-secret-0123456789abcdef-0123',
    }),
    launchBrowser(),
  ])
})
afterAll(async () => {
  await browser?.close()
  await open?.close()
  await keyed?.close()
  await redis?.stop()
  await dir?.remove()
})

/** Every operation of the service's OpenAPI document, as `METHOD /path`. */
async function documented(service: string): Promise<string[]> {
  const res = await fetch(`${service}/openapi.json`)
  expect(res.status).toBe(200)
  const spec = (await res.json()) as { paths: Record<string, Record<string, unknown>> }
  return Object.entries(spec.paths).flatMap(([path, methods]) =>
    Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
  )
}

/**
 * Open `service`/docs, wait until Swagger UI shows each of `expected` (`METHOD /path`), and
 * return every operation the page lists and its title.
 */
async function openDocs(
  page: Page,
  service: string,
  expected: string[],
): Promise<{ title: string; operations: string[] }> {
  const res = await page.goto(`${service}/docs`)
  expect(res?.status()).toBe(200)
  for (const operation of expected) {
    const [method = '', path = ''] = operation.split(' ')
    await page
      .locator(`.opblock-${method.toLowerCase()} .opblock-summary-path[data-path="${path}"]`)
      .waitFor({ state: 'visible' })
  }
  const operations = await page
    .locator('.opblock-summary')
    .evaluateAll((summaries) =>
      summaries.map(
        (summary) =>
          `${summary.querySelector('.opblock-summary-method')?.textContent} ${summary.querySelector('.opblock-summary-path')?.getAttribute('data-path')}`,
      ),
    )
  return { title: (await page.locator('.info .title').textContent()) ?? '', operations }
}

describe('GET /docs in a browser', () => {
  it('ingest: Swagger UI lists every operation, POST /upload, /upload-url and /uploads among them', async () => {
    const page = await browser.newPage()
    const { title, operations } = await openDocs(page, open.ingest, [
      'POST /upload',
      'POST /upload-url',
      'POST /uploads',
      'PATCH /uploads/{id}',
    ])
    expect(title).toContain('Video pipeline: ingest')
    expect(operations.sort()).toEqual((await documented(open.ingest)).sort())
    await browser.screenshot(page, 'docs-ingest')
    expect(browser.errors(page)).toEqual([])
    await page.close()
  })

  it('status: Swagger UI lists every operation, GET /jobs/{job_id} among them', async () => {
    const page = await browser.newPage()
    const { title, operations } = await openDocs(page, open.status, ['GET /jobs/{job_id}', 'GET /jobs'])
    expect(title).toContain('Video pipeline: status')
    expect(operations.sort()).toEqual((await documented(open.status)).sort())
    await browser.screenshot(page, 'docs-status')
    expect(browser.errors(page)).toEqual([])
    await page.close()
  })

  it('renders at phone width (390x844) with no page error', async () => {
    const page = await browser.newPage({ viewport: PHONE })
    await openDocs(page, open.ingest, ['POST /upload'])
    const [width, scrollWidth] = await page.evaluate(() => [
      window.innerWidth,
      document.documentElement.scrollWidth,
    ])
    expect(width).toBe(PHONE.width)
    expect(scrollWidth).toBeLessThanOrEqual(PHONE.width) // nothing wider than the screen
    await browser.screenshot(page, 'docs-ingest-phone')
    expect(browser.errors(page)).toEqual([])
    await page.close()
  })

  it('with API keys on, both pages render without a key while the API answers 401', async () => {
    expect((await fetch(`${keyed.ingest}/upload-url`, { method: 'POST' })).status).toBe(401)
    expect((await fetch(`${keyed.status}/jobs`)).status).toBe(401)
    for (const [service, operation] of [
      [keyed.ingest, 'POST /upload'],
      [keyed.status, 'GET /jobs/{job_id}'],
    ] as const) {
      const page = await browser.newPage()
      const { operations } = await openDocs(page, service, [operation])
      expect(operations.sort()).toEqual((await documented(service)).sort())
      await page.locator('.auth-wrapper .authorize').waitFor({ state: 'visible' }) // how to send a key
      expect(browser.errors(page)).toEqual([])
      await page.close()
    }
  })

  it('closing the browser ends every process it started and removes its profile; twice is fine', async () => {
    expect(browser.processes().length).toBeGreaterThan(0)
    await browser.close()
    expect(browser.processes()).toEqual([])
    expect(existsSync(browser.dir)).toBe(false)
    await browser.close()
  })
})
