/**
 * `npm run build:console`: bundles the console (src/ui, Preact and the typed client) with
 * esbuild into dist/app.js and dist/app.css, copies the page, and prints their sizes gzipped.
 * hls.js is not bundled: status serves it from its package, and the job page loads it.
 */
import { copyFile, mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'
import { DIST_DIR } from './assets.ts'

const UI = fileURLToPath(new URL('./ui', import.meta.url))

/** Builds dist/; answers each file's size, plain and gzipped, in bytes. */
export async function buildConsole(): Promise<Record<string, { bytes: number; gzipped: number }>> {
  await mkdir(DIST_DIR, { recursive: true })
  await build({
    entryPoints: { app: join(UI, 'main.tsx') },
    outdir: DIST_DIR,
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    logLevel: 'warning',
  })
  await copyFile(join(UI, 'index.html'), join(DIST_DIR, 'index.html'))
  const sizes: Record<string, { bytes: number; gzipped: number }> = {}
  for (const name of ['index.html', 'app.js', 'app.css']) {
    const bytes = await readFile(join(DIST_DIR, name))
    sizes[name] = { bytes: bytes.length, gzipped: gzipSync(bytes, { level: 9 }).length }
  }
  return sizes
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const sizes = await buildConsole()
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`
  const total = Object.values(sizes).reduce((sum, size) => sum + size.gzipped, 0)
  const parts = Object.entries(sizes).map(([name, size]) => `${name} ${kb(size.gzipped)}`)
  process.stdout.write(`console built in ${DIST_DIR}: ${parts.join(', ')} gzipped (${kb(total)} in all)\n`)
}
