/**
 * `vpp`: the pipeline's command line (`node --import tsx packages/cli/src/main.ts`, or `npx vpp`
 * through bin/vpp.mjs). Ctrl-C aborts what runs (an upload stays resumable) and exits 130.
 */
import { run } from './run.ts'

const controller = new AbortController()
// Once: a second Ctrl-C ends the process at once.
process.once('SIGINT', () => controller.abort(new Error('interrupted')))

const code = await run(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  signal: controller.signal,
})
// Exit now rather than when idle sockets close; stdout and stderr are written through first.
await new Promise((resolve) => process.stdout.write('', resolve))
await new Promise((resolve) => process.stderr.write('', resolve))
process.exit(code)
