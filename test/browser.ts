/**
 * A real browser for tests: Debian's chromium (`/usr/bin/chromium`, `apt-get install chromium`;
 * scripts/install-system-deps.sh --ci installs it), headless, driven by playwright-core. No
 * browser is ever downloaded.
 *
 *   let browser: TestBrowser
 *   beforeAll(async () => { browser = await launchBrowser() })
 *   afterAll(async () => { await browser?.close() }) // also when a test failed
 *
 *   const page = await browser.newPage()                     // 1280x800
 *   const phone = await browser.newPage({ viewport: PHONE }) // 390x844
 *   await page.goto(url)
 *   await page.locator('.title').waitFor()                   // every wait: 10 s unless given
 *   await browser.screenshot(page, 'name')                   // SCREENSHOT_DIR/name.png, full page
 *   expect(browser.errors(page)).toEqual([])                 // console errors, uncaught exceptions
 *
 * Each launch has a profile of its own (a fresh temporary directory, chromium's
 * `--user-data-dir`, its crash reports too), removed by `close()`. `close()` returns once no
 * process naming that directory is left (the browser, its zygotes, renderers and crashpad
 * handlers: `processes()`), SIGKILLing any still there after 5 s; it is safe to call twice. If
 * the test process dies without it, playwright kills the browser (its exit handler) but the
 * directory stays in the temporary folder.
 */
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type BrowserContext, chromium, type Page } from 'playwright-core'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** Where `screenshot()` writes: `$SCREENSHOT_DIR`, else test-results/screenshots in the repository. */
export const SCREENSHOT_DIR = resolve(process.env.SCREENSHOT_DIR ?? join(ROOT, 'test-results', 'screenshots'))

export const CHROMIUM = '/usr/bin/chromium'

export interface Viewport {
  width: number
  height: number
}

export const DESKTOP: Viewport = { width: 1280, height: 800 }
/** A phone held upright (an iPhone 14's CSS pixels). */
export const PHONE: Viewport = { width: 390, height: 844 }

export interface TestBrowser {
  /** The profile directory (`--user-data-dir`), removed by `close()`. */
  readonly dir: string
  /** A new tab, at the browser's viewport or `viewport`; its errors are collected from the start. */
  newPage(options?: { viewport?: Viewport }): Promise<Page>
  /**
   * What went wrong on `page` so far: `console.error` calls and what chromium logs as errors
   * (a resource answered 4xx/5xx or failed to load, a blocked script), and uncaught exceptions.
   */
  errors(page: Page): string[]
  /** A full-page PNG of `page` at SCREENSHOT_DIR/`name`.png (the directory made); its path. */
  screenshot(page: Page, name: string): Promise<string>
  /** Pids of the processes whose command line names `dir`: none once `close()` has returned. */
  processes(): string[]
  /** Close the browser and remove its profile; safe twice. */
  close(): Promise<void>
}

/**
 * Start headless chromium (`--headless --no-sandbox --disable-gpu`, no background network, no
 * component updates, no sync) with a fresh profile. `viewport`: every page's unless its own
 * (default 1280x800). `timeoutMs`: for every wait, navigation and action (default 10 s, inside
 * vitest's 60 s test timeout, so a missing element fails the test with the locator's name).
 */
export async function launchBrowser(
  options: { viewport?: Viewport; timeoutMs?: number } = {},
): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`no ${CHROMIUM}: install Debian's chromium (scripts/install-system-deps.sh --ci)`)
  const dir = await mkdtemp(join(tmpdir(), 'vpp-browser-'))
  const processes = () => pgrep(dir)
  let context: BrowserContext
  try {
    context = await chromium.launchPersistentContext(dir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      // Chromium keeps crash reports in $XDG_CONFIG_HOME/chromium (~/.config by default): in
      // the profile, they go with it, and its crashpad handlers name it. With the profile
      // outside XDG_CONFIG_HOME, chromium keeps its cache in the profile too, not ~/.cache.
      env: {
        ...process.env,
        XDG_CONFIG_HOME: join(dir, 'xdg-config'),
        XDG_CACHE_HOME: join(dir, 'xdg-cache'),
      },
      viewport: options.viewport ?? DESKTOP,
      timeout: 30_000, // the launch
    })
  } catch (error) {
    await stopProcesses(processes)
    await rm(dir, { recursive: true, force: true })
    throw error
  }
  context.setDefaultTimeout(options.timeoutMs ?? 10_000)

  const collected = new WeakMap<Page, string[]>()
  let closing: Promise<void> | undefined

  return {
    dir,
    async newPage(pageOptions = {}) {
      const page = await context.newPage()
      const errors: string[] = []
      collected.set(page, errors)
      page.on('console', (message) => {
        if (message.type() !== 'error') return
        const { url } = message.location()
        errors.push(`console: ${message.text()}${url ? ` (${url})` : ''}`)
      })
      page.on('pageerror', (error) => errors.push(`pageerror: ${error.stack ?? error.message}`))
      if (pageOptions.viewport) await page.setViewportSize(pageOptions.viewport)
      return page
    },
    errors(page) {
      const errors = collected.get(page)
      if (!errors) throw new Error('errors(page): not a page of this browser (open it with newPage())')
      return [...errors]
    },
    async screenshot(page, name) {
      if (!/^[\w.-]+$/.test(name))
        throw new Error(`screenshot name ${JSON.stringify(name)}: letters, digits, . _ -`)
      await mkdir(SCREENSHOT_DIR, { recursive: true })
      const path = join(SCREENSHOT_DIR, `${name}.png`)
      await page.screenshot({ path, fullPage: true })
      return path
    },
    processes,
    close() {
      closing ??= (async () => {
        await context.close().catch(() => {}) // a browser that crashed is closed already
        await stopProcesses(processes)
        await rm(dir, { recursive: true, force: true })
      })()
      return closing
    },
  }
}

/**
 * Wait until `processes()` is empty: chromium's helpers exit just after the browser. SIGKILL
 * those still there after `graceMs`.
 */
async function stopProcesses(processes: () => string[], graceMs = 5000): Promise<void> {
  const deadline = Date.now() + graceMs
  while (processes().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  for (const pid of processes()) {
    try {
      process.kill(Number(pid), 'SIGKILL')
    } catch {} // gone meanwhile
  }
}

/** Pids of the processes whose command line contains `text` (pgrep -f, `text` escaped). */
function pgrep(text: string): string[] {
  const pattern = text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  try {
    return execFileSync('pgrep', ['-f', '--', pattern]).toString().trim().split('\n').filter(Boolean)
  } catch {
    return [] // pgrep exits 1 when nothing matches
  }
}
