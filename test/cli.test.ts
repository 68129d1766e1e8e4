/**
 * `vpp`, the CLI, as a person runs it, against a real pipeline on loopback, with
 * VPP_INGEST_URL, VPP_STATUS_URL and VPP_API_KEY: its commands through `run` (the entry's whole
 * body but the signal handler, in this process so that coverage counts them), Ctrl-C on a child
 * process (`node --import tsx packages/cli/src/main.ts`), and `npx vpp`'s bin link. Real HTTP,
 * real Redis, real ffmpeg.
 */
import { spawn } from 'node:child_process'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { type AddressInfo, createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { DlqList, Job, JobPage, WatermarkList } from '@vpp/client'
import type { RunningService } from '@vpp/shared/node'
import {
  makeClip,
  markPlayable,
  mp4Bytes,
  pngBytes,
  startTestRedis,
  type TestRedis,
  takeJob,
  tempDir,
} from '@vpp/shared/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { run } from '../packages/cli/src/run.ts'
import { type Pipeline, startPipeline } from './harness.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/

let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let clip = ''
/** Passes the upload's content check, but is no video: its job fails. */
let notVideo = ''

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
  clip = await makeClip(`${dir.path}/clip.mp4`, { width: 640, height: 360, seconds: 2, audio: true })
  notVideo = `${dir.path}/not-video.mp4`
  await writeFile(notVideo, mp4Bytes())
})
afterAll(async () => {
  await redis?.stop()
  await dir?.remove()
})

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** The command line of `vpp` as a process: node with tsx on the CLI's entry (what npx runs, bar the bin). */
const NODE_VPP = [process.execPath, '--import', 'tsx', 'packages/cli/src/main.ts']

/**
 * `vpp …args` with `env` (VPP_API_KEY unset unless given; the resume file in the test's
 * directory): in this process through `run` (so coverage counts it), or, given `command`, as that
 * child process. `onStderr` sees stderr as it grows, with `interrupt`: Ctrl-C (SIGINT to the
 * child, the abort signal in this process).
 */
function vpp(
  args: string[],
  env: Record<string, string>,
  onStderr?: (stderr: string, interrupt: () => void) => void,
  command?: string[],
): Promise<Run> {
  const fullEnv = { ...process.env, VPP_API_KEY: '', XDG_STATE_HOME: `${dir.path}/state`, ...env }
  let stdout = ''
  let stderr = ''
  if (!command) {
    const controller = new AbortController()
    const interrupt = () => controller.abort(new Error('interrupted'))
    return run(args, {
      env: fullEnv,
      stdout: { write: (text: string) => (stdout += text) },
      stderr: {
        write: (text: string) => {
          stderr += text
          onStderr?.(stderr, interrupt)
          return true
        },
      },
      signal: controller.signal,
    }).then((code) => ({ code, stdout, stderr }))
  }
  const [executable = '', ...before] = command
  const child = spawn(executable, [...before, ...args], {
    cwd: ROOT,
    env: fullEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout?.on('data', (data: Buffer) => {
    stdout += data.toString()
  })
  child.stderr?.on('data', (data: Buffer) => {
    stderr += data.toString()
    onStderr?.(stderr, () => child.kill('SIGINT'))
  })
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** A loopback port nothing listens on (one just let go). */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

const json = <T>(run: Run): T => {
  if (run.code !== 0) throw new Error(`vpp exited ${run.code}: ${run.stderr}`)
  return JSON.parse(run.stdout) as T
}

describe('vpp against a pipeline', () => {
  let pipeline: Pipeline
  let transcoder: RunningService
  let env: Record<string, string>

  beforeAll(async () => {
    // URL imports from the pipeline's own media URLs, on loopback.
    pipeline = await startPipeline(redis, `${dir.path}/data`, { URL_IMPORT_ALLOW_PRIVATE: 'true' })
    transcoder = await pipeline.transcoder()
    env = { VPP_INGEST_URL: pipeline.ingest, VPP_STATUS_URL: pipeline.status }
  })
  afterAll(async () => {
    await pipeline?.close()
  })

  let completed = ''

  it('upload --profiles 360p,hls --wait: the upload bar, the transcode, the playback URLs; exit 0', async () => {
    const run = await vpp(['upload', clip, '--profiles', '360p,hls', '--wait'], env)
    expect(run.code, run.stderr).toBe(0)
    completed = UUID.exec(run.stderr)?.[0] ?? ''
    // Not a TTY: one line per 10 % reached, each with bytes and bytes/s, the last at 100 %.
    expect(run.stderr).toMatch(
      /^upload {4}\[#{20}\] 100% {2}\d+\.\d KiB \/ \d+\.\d KiB {2}\d+(\.\d)? [KMG]?i?B\/s$/m,
    )
    expect(run.stderr).toContain(`job ${completed} completed`)
    expect(run.stdout).toMatch(new RegExp(`^ {2}hls +http://\\S+/media/${completed}/hls/master\\.m3u8$`, 'm'))
    expect(run.stdout).toMatch(/^ {2}360p +640x360 +2\.0s +\S+ KiB +h264 /m)

    const job = (await pipeline.store.get(completed)) as Job
    expect(job.status).toBe('completed')
    expect(job.profiles).toEqual(['360p', 'hls'])
    expect(job.outputs.map((o) => o.profile).sort()).toEqual(['360p', 'hls'])
  })

  it('jobs, jobs --status, job ID: a table, JSON, one job', async () => {
    const table = await vpp(['jobs'], env)
    expect(table.code).toBe(0)
    const [header, ...rows] = table.stdout.trim().split('\n')
    expect(header).toMatch(/^JOB ID +STATUS +PROGRESS +CREATED +FILENAME$/)
    expect(rows).toContainEqual(
      expect.stringMatching(new RegExp(`^${completed} +completed +100% +\\S+ \\S+ +clip\\.mp4$`)),
    )

    const page = json<JobPage>(await vpp(['jobs', '--status', 'completed', '--limit', '5', '--json'], env))
    expect(page.jobs.map((j) => j.job_id)).toContain(completed)
    expect(json<JobPage>(await vpp(['jobs', '--status', 'failed', '--json'], env)).jobs).toEqual([])

    const one = await vpp(['job', completed], env)
    expect(one.code).toBe(0)
    expect(one.stdout).toMatch(/^status +completed$/m)
    expect(one.stdout).toMatch(/^profiles +360p, hls$/m)
    expect(json<Job>(await vpp(['job', completed, '--json'], env)).playback?.hls).toMatch(
      /\/hls\/master\.m3u8$/,
    )
  })

  it('upload URL --wait: imported, transcoded, exit 0', async () => {
    const url = `${pipeline.status}/media/${completed}/360p.mp4`
    const run = await vpp(['upload', url, '--profiles', '360p', '--wait', '--json'], env)
    expect(run.code, run.stderr).toBe(0)
    const job = JSON.parse(run.stdout) as Job
    expect(job).toMatchObject({ source: 'url', source_url: url, status: 'completed', profiles: ['360p'] })
    expect(run.stderr).toContain(`importing ${url} as job ${job.job_id}`)
    expect(job.playback?.mp4).toMatch(new RegExp(`/media/${job.job_id}/360p\\.mp4$`))
  })

  it("delete ID; then job ID exits 1 with the server's not_found", async () => {
    const deleted = await vpp(['delete', completed], env)
    expect(deleted).toMatchObject({ code: 0, stdout: `job ${completed} deleted\n` })
    expect(await pipeline.store.get(completed)).toBeNull()
    const gone = await vpp(['job', completed], env)
    expect(gone).toMatchObject({ code: 1, stdout: '' })
    expect(gone.stderr).toBe(`vpp: not_found: Job ${completed} not found\n`)
    const goneJson = await vpp(['delete', completed, '--json'], env)
    expect(goneJson.code).toBe(1)
    expect(JSON.parse(goneJson.stderr)).toEqual({ error: 'not_found', message: `Job ${completed} not found` })
  })

  it('a job that fails: --wait exits 1 with its error; dlq lists it; dlq retry queues it; wait follows the retry', async () => {
    const failed = await vpp(['upload', notVideo, '--wait'], env)
    expect(failed.code, failed.stderr).toBe(1)
    const id = UUID.exec(failed.stderr)?.[0] ?? ''
    expect(failed.stderr).toMatch(
      new RegExp(`^job ${id} failed: Input is not a readable video file .*\\(invalid_input\\)$`, 'm'),
    )
    expect(failed.stdout).toBe('')

    const listed = await vpp(['dlq'], env)
    expect(listed.code).toBe(0)
    expect(listed.stdout).toMatch(/^MESSAGE ID +JOB ID +ATTEMPTS +FAILED +ERROR$/m)
    expect(listed.stdout).toMatch(
      new RegExp(`^\\d+-\\d+ +${id} +1 +.*Input is not a readable video file`, 'm'),
    )
    const entry = json<DlqList>(await vpp(['dlq', '--json'], env)).entries.find((e) => e.job_id === id)
    expect(entry).toBeDefined()

    // With no transcoder, the retried job waits in the queue, where wait finds it.
    await transcoder.close()
    const retried = await vpp(['dlq', 'retry', entry?.message_id ?? ''], env)
    expect(retried).toMatchObject({ code: 0, stdout: `job ${id} queued again\n` })
    expect((await pipeline.store.get(id))?.status).toBe('queued')
    expect(json<DlqList>(await vpp(['dlq', '--json'], env)).entries).toEqual([])

    // The job's stream replays its first failure first: wait goes on past it, to the second.
    let restarted: Promise<RunningService> | undefined
    const waited = await vpp(['wait', id], env, (stderr) => {
      if (stderr.includes('queued again from the dead-letter queue')) restarted ??= pipeline.transcoder()
    })
    expect(restarted).toBeDefined()
    transcoder = (await restarted) as RunningService
    expect(waited.code, waited.stderr).toBe(1)
    expect(waited.stderr.match(/^processing$/gm)).toHaveLength(2)
    expect(waited.stderr).toMatch(new RegExp(`^job ${id} failed: Input is not a readable video file`, 'm'))

    // By job id too: the dead letter of its second failure, discarded.
    const discarded = await vpp(['dlq', 'discard', id], env)
    expect(discarded.code, discarded.stderr).toBe(0)
    expect(json<DlqList>(await vpp(['dlq', '--json'], env)).entries).toEqual([])
    expect((await vpp(['dlq', 'retry', id], env)).stderr).toBe(
      `vpp: job ${id} is not in the dead-letter queue\n`,
    )
  })

  it("prints the server's error for a refused URL import, and says when a service cannot be reached", async () => {
    const refused = await vpp(['upload', 'http://user:secret@127.0.0.1/clip.mp4'], env)
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/^vpp: url_not_allowed: /)
    const closed = `http://127.0.0.1:${await closedPort()}`
    const down = await vpp(['jobs'], { ...env, VPP_STATUS_URL: closed })
    expect(down).toMatchObject({
      code: 1,
      stderr: `vpp: unreachable: cannot reach ${closed}: ECONNREFUSED\n`,
    })
  })

  it('usage errors exit 2 with the message and the usage on stderr', async () => {
    const cases: Array<[string[], string, string]> = [
      [[], 'no command given', 'Usage: vpp <command>'],
      [['transcode'], 'unknown command: transcode', 'Usage: vpp <command>'],
      [['jobs', '--colour'], 'unknown option: --colour', 'Usage: vpp jobs'],
      [['job'], 'missing JOB_ID', 'Usage: vpp job JOB_ID'],
      [['upload'], 'missing FILE|URL', 'Usage: vpp upload FILE|URL'],
      [['jobs', '--status', 'done'], '--status must be one of queued, processing', 'Usage: vpp jobs'],
      [['dlq', '--limit', '0'], '--limit must be a whole number from 1 to 1000', 'Usage: vpp dlq'],
      [['upload', clip, '--metadata', '[1]'], '--metadata must be a JSON object', 'Usage: vpp upload'],
    ]
    // Two at a time: the suite shares two cores with ffmpeg in other files.
    const runs: Run[] = []
    for (let i = 0; i < cases.length; i += 2) {
      runs.push(...(await Promise.all(cases.slice(i, i + 2).map(([args]) => vpp(args, env)))))
    }
    runs.forEach((run, i) => {
      const [args, message, usage] = cases[i] ?? [[], '', '']
      expect(run.code, args.join(' ')).toBe(2)
      expect(run.stdout).toBe('')
      expect(run.stderr).toContain(`vpp: ${message}`)
      expect(run.stderr).toContain(usage)
    })
    const badEnv = await vpp(['jobs'], { ...env, VPP_STATUS_URL: 'localhost:8001' })
    expect(badEnv.code).toBe(2)
    expect(badEnv.stderr).toContain('VPP_STATUS_URL must be an http:// or https:// URL')
  })

  it('npx vpp: the bin npm links into node_modules/.bin runs the CLI', async () => {
    const help = await vpp(['--help'], env, undefined, [`${ROOT}node_modules/.bin/vpp`])
    expect(help.code, help.stderr).toBe(0)
    expect(help.stdout).toMatch(/^Usage: vpp <command> \[options\]/)
    expect(help.stdout).toContain('dlq retry ID')
    const usage = await vpp(['upload'], env, undefined, [`${ROOT}node_modules/.bin/vpp`])
    expect(usage.code).toBe(2)
  })
})

describe('vpp with API keys, no transcoder', () => {
  const KEY = 'cli-key-a-0123456789abcdef'
  const OTHER = 'cli-key-b-0123456789abcdef'
  const ADMIN = 'cli-key-admin-0123456789abcdef'
  let pipeline: Pipeline
  let env: Record<string, string>

  beforeAll(async () => {
    pipeline = await startPipeline(redis, `${dir.path}/data-keys`, {
      API_KEYS: `${KEY},${OTHER}`,
      ADMIN_API_KEYS: ADMIN,
      MEDIA_SIGNING_SECRET: 'cli-media-secret-0123456789abcdef-0123456789',
    })
    env = { VPP_INGEST_URL: pipeline.ingest, VPP_STATUS_URL: pipeline.status, VPP_API_KEY: KEY }
  })
  afterAll(async () => {
    await pipeline?.close()
  })

  it('sends VPP_API_KEY: upload, job and cancel with it; 401 without; 404 for another key; dlq for admins', async () => {
    const uploaded = await vpp(['upload', clip], env)
    expect(uploaded.code, uploaded.stderr).toBe(0)
    const id = uploaded.stdout.trim()
    expect(id).toMatch(UUID)
    expect(json<Job>(await vpp(['job', id, '--json'], env)).status).toBe('queued')

    const none = await vpp(['job', id], { ...env, VPP_API_KEY: '' })
    expect(none.code).toBe(1)
    expect(none.stderr).toMatch(/^vpp: unauthorized: /)
    expect((await vpp(['upload', clip], { ...env, VPP_API_KEY: '' })).stderr).toMatch(/^vpp: unauthorized: /)
    expect((await vpp(['cancel', id], { ...env, VPP_API_KEY: OTHER })).stderr).toBe(
      `vpp: not_found: Job ${id} not found\n`,
    )
    expect((await vpp(['dlq'], env)).stderr).toMatch(/^vpp: forbidden: /)
    expect((await vpp(['dlq'], { ...env, VPP_API_KEY: ADMIN })).code).toBe(0)

    // Queued, with no transcoder: canceled at once (202).
    const canceled = await vpp(['cancel', id], env)
    expect(canceled).toMatchObject({ code: 0, stdout: `job ${id} canceled\n` })
    expect((await pipeline.store.get(id))?.status).toBe('canceled')
    expect(json<{ job_id: string; status: string }>(await vpp(['cancel', id, '--json'], env))).toEqual({
      job_id: id,
      status: 'canceled',
    })
    const waited = await vpp(['wait', id], env)
    expect(waited.code).toBe(1)
    expect(waited.stderr).toContain(`job ${id} was canceled`)
    expect((await vpp(['jobs', '--status', 'canceled'], env)).stdout).toContain(id)
    expect(
      (await vpp(['jobs', '--status', 'canceled'], { ...env, VPP_API_KEY: OTHER })).stdout,
    ).not.toContain(id)
  })

  it('wait and job: a job transcoded in chunks is playable, at its signed stream URL, before it completes', async () => {
    const id = (await vpp(['upload', clip], env)).stdout.trim()
    // No transcoder here: the test runs the job as one would.
    const claim = await takeJob(pipeline.store)
    expect(claim.jobId).toBe(id)
    await markPlayable(pipeline.store, id, new Date())
    const master = new RegExp(`^ {2}hls +http://\\S+/media/\\d+\\.[\\w-]+/${id}/hls/master\\.m3u8$`, 'm')
    const shown = await vpp(['job', id], env)
    expect(shown.stdout).toMatch(/^status +processing$/m)
    expect(shown.stdout).toMatch(/^playable +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/m)
    expect(shown.stdout).toMatch(master)

    // Completed once wait has said the stream plays.
    let finished: Promise<boolean> | undefined
    const waited = await vpp(['wait', id], env, (stderr) => {
      if (stderr.includes('playable: '))
        finished ??= pipeline.store.finish(claim, { status: 'completed', outputs: [] }, new Date())
    })
    expect(waited.code, waited.stderr).toBe(0)
    expect(await finished).toBe(true)
    const lines = waited.stderr.split('\n')
    const playable = lines.findIndex((line) => line.startsWith('playable: '))
    expect(lines[playable]).toMatch(
      new RegExp(`^playable: http://\\S+/media/\\d+\\.[\\w-]+/${id}/hls/master\\.m3u8$`),
    )
    expect(lines.indexOf('processing')).toBeLessThan(playable)
    expect(lines.findIndex((line) => line.startsWith(`job ${id} completed`))).toBeGreaterThan(playable)
  })

  it('resumes an interrupted upload: Ctrl-C exits 130, the same command again continues at its offset', async () => {
    const big = `${dir.path}/big.mp4`
    await writeFile(big, mp4Bytes(8 * 1024 * 1024))
    const args = ['upload', big, '--chunk-size', '32KiB', '--json']
    let interrupted = false
    // A real process and a real SIGINT: the entry's handler is part of what is tested.
    const first = await vpp(
      args,
      env,
      (stderr, interrupt) => {
        // Not a TTY: a line per 10 %; the first past 0 % is the moment.
        if (!interrupted && /^upload .* [1-9]0%/m.test(stderr)) {
          interrupted = true
          interrupt()
        }
      },
      NODE_VPP,
    )
    expect(first.code, first.stderr).toBe(130)
    expect(first.stderr).toContain('interrupted: run the same command again to resume the upload')
    const id = UUID.exec(first.stderr)?.[0] ?? ''
    expect(await pipeline.store.get(id)).toBeNull() // no job before the last byte

    const second = await vpp(args, env)
    expect(second.code, second.stderr).toBe(0)
    const resumed = /resuming the upload of .* as job (\S+) at (\S+ \S+) of 8\.0 MiB/.exec(second.stderr)
    expect(resumed?.[1], second.stderr).toBe(id)
    // Past the start, short of the end.
    expect(resumed?.[2]).toMatch(/^\d+\.\d (KiB|MiB)$/)
    expect(resumed?.[2]).not.toBe('8.0 MiB')
    const job = json<Job>(second)
    expect(job).toMatchObject({ job_id: id, status: 'queued', filename: 'big.mp4' })
    expect((await stat(`${dir.path}/data-keys/uploads/${id}`)).size).toBe(8 * 1024 * 1024)
    // Finished: no longer remembered.
    expect(JSON.parse(await readFile(`${dir.path}/state/vpp/uploads.json`, 'utf8'))).toEqual({})
  })

  // Last: its jobs stay queued (no transcoder), and the chunk test above takes the next one off the queue.
  it('stores a watermark (add, default, delete) and names it in uploads, as a stored id or a PNG file', async () => {
    const logo = `${dir.path}/logo.png`
    await writeFile(logo, pngBytes(32, 16))
    const added = await vpp(['watermark', 'add', logo, '--default'], env)
    expect(added.code, added.stderr).toBe(0)
    const id = added.stdout.trim()
    expect(id).toMatch(/^wm_[A-Za-z0-9]+$/)
    // Without an image: the key's default.
    const byDefault = json<Job>(
      await vpp(['upload', clip, '--watermark-position', 'top-left', '--json'], env),
    )
    expect(byDefault.watermark).toEqual({ image: id, position: 'top-left', width: 0.15, margin: 0.02 })
    // A PNG file: stored first, then named.
    const byFile = json<Job>(
      await vpp(['upload', clip, '--watermark-image', logo, '--watermark-width', '0.3', '--json'], env),
    )
    expect(byFile.watermark).toMatchObject({ image: expect.stringMatching(/^wm_/), width: 0.3 })
    expect(byFile.watermark?.image).not.toBe(id)
    // That PNG was stored for the one upload: deleted again once the job was created (the job
    // has its own copy), as after a failed upload; an image named by id stays.
    const ids = async () =>
      json<WatermarkList>(await vpp(['watermark', 'list', '--json'], env)).watermarks.map(
        (w) => w.watermark_id,
      )
    expect(await ids()).toEqual([id])
    const assets = `${dir.path}/data-keys/uploads/.assets`
    expect(await readFile(`${assets}/${byFile.job_id}.watermark.png`)).toEqual(await readFile(logo))
    const failed = await vpp(['upload', `${dir.path}/missing.mp4`, '--watermark-image', logo], env)
    expect([failed.code, failed.stderr]).toEqual([1, `vpp: no such file: ${dir.path}/missing.mp4\n`])
    const byId = json<Job>(await vpp(['upload', clip, '--watermark-image', id, '--json'], env))
    expect(byId.watermark?.image).toBe(id)
    expect(await ids()).toEqual([id])
    const listed = await vpp(['watermark', 'list'], env)
    expect(listed.stdout).toMatch(
      new RegExp(
        `^ID +PIXELS +SIZE +CREATED +DEFAULT\\n${id} +32x16 +\\d+ B +\\d{4}-\\d\\d-\\d\\d \\S+ +yes\\n$`,
      ),
    )
    expect((await vpp(['watermark', 'list'], { ...env, VPP_API_KEY: OTHER })).stdout).toBe(
      'no watermark images\n',
    )
    expect((await vpp(['watermark', 'delete', id], { ...env, VPP_API_KEY: OTHER })).stderr).toBe(
      `vpp: not_found: No watermark ${id}\n`,
    )
    expect(await vpp(['watermark', 'delete', id], env)).toMatchObject({
      code: 0,
      stdout: `watermark ${id} deleted\n`,
    })
    const bad = await vpp(['upload', clip, '--watermark-position', 'middle'], env)
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('--watermark-position must be one of top-left')
    const none = await vpp(['upload', clip, '--watermark-position', 'center'], env)
    expect(none.code).toBe(1)
    expect(none.stderr).toMatch(/^vpp: invalid_watermark: no watermark image: /)
  })
})
