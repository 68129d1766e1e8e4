/**
 * `npm run bench`: every suite in turn, each in its own process (so one's garbage and sockets do
 * not slow the next), results printed as tables and written to bench/results/<suite>.json.
 *
 *   npm run bench -- [--only queue,http,upload,recovery]
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { only: { type: 'string', default: 'queue,http,upload,recovery' } } })
const ROOT = fileURLToPath(new URL('..', import.meta.url))
mkdirSync(`${ROOT}/bench/results`, { recursive: true })
let failed = false
for (const suite of (values.only ?? '').split(',')) {
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', `bench/${suite}.ts`, '--output', `bench/results/${suite}.json`],
    { cwd: ROOT, stdio: 'inherit' },
  )
  if (result.status !== 0) {
    console.error(`suite ${suite} failed (exit ${result.status})`)
    failed = true
  }
}
process.exitCode = failed ? 1 : 0
