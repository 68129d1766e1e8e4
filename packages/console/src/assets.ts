/**
 * The console's files as status serves them: `dist/` (built by `npm run build:console`) and
 * hls.js from its package, read on the first request and kept in memory with their gzip.
 * node:fs/promises and node:module only, so the Bun and Deno entries serve it too.
 */
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Asset, makeAsset } from '@vpp/shared'

/** Where the build writes the page, its script and its stylesheet. */
export const DIST_DIR = fileURLToPath(new URL('../dist', import.meta.url))

/** What `/console/{name}` serves, and `index.html` at `/`. */
export const CONSOLE_FILES = ['index.html', 'app.js', 'app.css', 'hls.js'] as const
export type ConsoleFile = (typeof CONSOLE_FILES)[number]

const TYPES: Record<ConsoleFile, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
  'hls.js': 'text/javascript; charset=utf-8',
}

/** The player library, loaded by the job page only where MediaSource exists. */
function hlsPath(): string {
  const dir = dirname(createRequire(import.meta.url).resolve('hls.js/package.json'))
  return join(dir, 'dist', 'hls.min.js')
}

async function read(): Promise<Map<ConsoleFile, Asset> | null> {
  const files = new Map<ConsoleFile, Asset>()
  for (const name of CONSOLE_FILES) {
    const path = name === 'hls.js' ? hlsPath() : join(DIST_DIR, name)
    const bytes = await readFile(path).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' && name !== 'hls.js') return null
      throw error
    })
    if (!bytes) return null
    files.set(name, await makeAsset(bytes, TYPES[name]))
  }
  return files
}

let loaded: Map<ConsoleFile, Asset> | undefined
let loading: Promise<Map<ConsoleFile, Asset> | null> | undefined

/**
 * The console's files, or null when it has not been built (no `dist/`): looked for again on the
 * next request, so a console built after the service started is served; once read, kept.
 */
export async function consoleAssets(): Promise<Map<ConsoleFile, Asset> | null> {
  if (loaded) return loaded
  loading ??= read().finally(() => {
    loading = undefined
  })
  const files = await loading
  if (files) loaded = files
  return files
}
