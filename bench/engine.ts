/**
 * Engine benchmark: the pipeline against plain ffmpeg on this machine, side by side in one run.
 *
 *   npm run bench:engine                       # 30 s noisy 1080p clip + a real low-res camera clip
 *   npm run bench:engine -- --seconds 10 --batch 4 --output engine.json
 *
 * For each source:
 * - naive:    one ffmpeg run per profile, one after the other (each decodes the source again);
 * - raw:      the pipeline's own ffmpeg command lines, run from a shell: one decode for every
 *             rendition through a split graph, then a fast-seek thumbnail;
 * - pipeline: upload through the HTTP API, timed from the 202 to `completed`.
 * Wall time, CPU seconds (user+sys of the process tree) and peak RSS (largest process) come from
 * GNU time. Then a batch of --batch jobs: raw commands two at a time (xargs -P2) against the
 * pipeline with two transcoder processes.
 */
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { PROFILES } from '@vpp/shared'
import { startTestRedis, tempDir } from '@vpp/shared/testing'
import { buildArgs, parseProbe } from '@vpp/transcoder'
import { startPipeline } from '../test/harness.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '30' },
    batch: { type: 'string', default: '8' },
    real: { type: 'string', default: `${ROOT}../shared/media/bird.mkv` },
    output: { type: 'string' },
  },
})
if (!existsSync('/usr/bin/time')) {
  process.stderr.write('GNU time is needed: sudo apt-get install -y time\n')
  process.exit(2)
}

interface Measure {
  wall_s: number
  cpu_s: number
  peak_rss_mb: number
}

/** Run `sh -c script` under GNU time. */
function timed(script: string): Promise<Measure> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', '@@%e %U %S %M', 'sh', '-c', script], {
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    child.on('close', (code) => {
      const match = /@@([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(stderr)
      if (code !== 0 || !match) return reject(new Error(`failed (${code}): ${stderr.slice(-500)}`))
      const [, wall, user, sys, rss] = match.map(Number) as [number, number, number, number, number]
      resolve({ wall_s: wall, cpu_s: user + sys, peak_rss_mb: Math.round(rss / 1024) })
    })
  })
}

const quote = (arg: string) => `'${arg.replaceAll("'", `'\\''`)}'`
const shell = (runs: string[][]) => runs.map((args) => ['ffmpeg', ...args].map(quote).join(' ')).join(' && ')

async function probe(path: string) {
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn('ffprobe', [
      '-v',
      'error',
      '-print_format',
      'json',
      '-show_format',
      '-show_streams',
      path,
    ])
    let text = ''
    child.stdout.on('data', (d: Buffer) => {
      text += d.toString()
    })
    child.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`ffprobe ${path}`))))
  })
  return parseProbe(JSON.parse(out))
}

/** Command lines (as a shell script) for the naive and the raw layout of one source. */
async function commands(source: string, outDir: string) {
  const p = await probe(source)
  const plan = buildArgs({ input: source, outDir: `${outDir}/raw` }, PROFILES, p)
  // The same renditions (profiles the plan skips to avoid upscaling are skipped here too), one run each.
  const made = plan.runs.flatMap((run) => run.outputs.map((o) => o.profile))
  const naive = made.flatMap((name) => {
    const profile = PROFILES.find((candidate) => candidate.name === name)
    if (!profile) return plan.runs.filter((run) => run.outputs.some((o) => o.profile === name))
    return buildArgs({ input: source, outDir: `${outDir}/naive` }, [profile], p).runs
  })
  await mkdir(`${outDir}/raw`, { recursive: true })
  await mkdir(`${outDir}/naive`, { recursive: true })
  return {
    raw: shell(plan.runs.map((r) => r.args)),
    naive: shell(naive.map((r) => r.args)),
    renditions: made,
  }
}

async function makeSource(path: string, seconds: number) {
  // Real motion and sensor-like noise, so the encoders work as on camera footage.
  const video = `testsrc2=size=1920x1080:rate=30:duration=${seconds},noise=alls=12:allf=t+u`
  await timed(
    shell([
      [
        ...['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', video, '-f', 'lavfi'],
        ...[
          '-i',
          `sine=frequency=440:duration=${seconds}`,
          '-c:v',
          'libx264',
          '-preset',
          'veryfast',
          '-crf',
          '18',
        ],
        ...['-pix_fmt', 'yuv420p', '-c:a', 'aac', path],
      ],
    ]),
  )
}

const dir = await tempDir('vpp-bench-engine-')
const redis = await startTestRedis()
const report: Record<string, unknown> = {
  machine: { cores: (await import('node:os')).availableParallelism() },
}
try {
  const synthetic = `${dir.path}/noisy-1080p.mp4`
  await makeSource(synthetic, Number(values.seconds))
  const sources = [{ name: `noisy 1080p ${values.seconds} s`, path: synthetic }]
  if (values.real && existsSync(values.real))
    sources.push({ name: `camera ${values.real.split('/').pop()}`, path: values.real })

  const single: Record<string, unknown> = {}
  for (const source of sources) {
    const cmd = await commands(source.path, `${dir.path}/out`)
    const naive = await timed(cmd.naive)
    const raw = await timed(cmd.raw)
    const pipeline = await pipelineRun(source.path, 1)
    single[source.name] = {
      renditions: cmd.renditions,
      naive,
      raw,
      pipeline,
      'pipeline/naive': ratio(pipeline.wall_s, naive.wall_s),
      'pipeline/raw': ratio(pipeline.wall_s, raw.wall_s),
      'cpu pipeline/naive': ratio(pipeline.cpu_s, naive.cpu_s),
      raw_command: cmd.raw,
    }
    process.stdout.write(
      `${source.name}: naive ${naive.wall_s}s, raw ${raw.wall_s}s, pipeline ${pipeline.wall_s}s\n`,
    )
  }
  report.single = single

  const jobs = Number(values.batch)
  if (jobs > 0) await batch(jobs, synthetic)
  process.stdout.write(`${JSON.stringify(report, (k, v) => (k === 'raw_command' ? undefined : v), 2)}\n`)
  if (values.output) await writeFile(values.output, `${JSON.stringify(report, null, 2)}\n`)
} finally {
  await redis.stop()
  await dir.remove()
}

/** `jobs` copies of the synthetic source: raw commands two at a time against two transcoders. */
async function batch(jobs: number, synthetic: string) {
  const cmd = await commands(synthetic, `${dir.path}/batch`)
  const list = Array.from({ length: jobs }, (_, i) =>
    cmd.raw.replaceAll(`${dir.path}/batch/raw`, `${dir.path}/batch/raw-${i}`),
  )
  await Promise.all(list.map((_, i) => mkdir(`${dir.path}/batch/raw-${i}`, { recursive: true })))
  await writeFile(`${dir.path}/batch/jobs.txt`, `${list.join('\n')}\n`)
  const rawBatch = await timed(
    `tr '\\n' '\\0' < ${quote(`${dir.path}/batch/jobs.txt`)} | xargs -0 -P2 -I{} sh -c {}`,
  )
  const pipeBatch = await pipelineRun(synthetic, jobs)
  const perMin = (m: Measure) => Math.round((jobs / m.wall_s) * 60 * 100) / 100
  report.batch = {
    jobs,
    raw_xargs_P2: { ...rawBatch, jobs_per_min: perMin(rawBatch) },
    pipeline_2_transcoders: { ...pipeBatch, jobs_per_min: perMin(pipeBatch) },
    'pipeline/raw throughput': ratio(perMin(pipeBatch), perMin(rawBatch)),
  }
}

function ratio(a: number, b: number) {
  return Math.round((a / b) * 1000) / 1000
}

/**
 * Upload `jobs` copies of `source` to a fresh pipeline whose transcoders (two for a batch, one
 * otherwise, each running one job at a time) run as child processes under GNU time; time from the
 * first 202 to the last `completed`.
 */
async function pipelineRun(source: string, jobs: number): Promise<Measure> {
  const data = `${dir.path}/pipeline-${Date.now()}`
  const pipeline = await startPipeline(redis, data, { WORKER_CONCURRENCY: '1' })
  const transcoders = Array.from({ length: jobs > 1 ? 2 : 1 }, (_, i) =>
    timedTranscoder(pipeline.env, `bench-${i}`),
  )
  try {
    // Wait for the transcoders to be up (their consumers appear in the group).
    const { stream, group } = pipeline.store.keys
    for (let i = 0; i < 200; i++) {
      const consumers = await pipeline.store.client.xInfoConsumers(stream, group).catch(() => [])
      if (consumers.length >= transcoders.length) break
      await new Promise((r) => setTimeout(r, 100))
    }
    const bytes = new Blob([await readFile(source)])
    const name = source.split('/').pop() ?? 'video.mp4'
    const ids: string[] = []
    let started = 0
    const ownCpu = process.cpuUsage() // ingest and status run in this process
    const before = transcoders.map((t) => t.cpuSeconds())
    for (let i = 0; i < jobs; i++) {
      const form = new FormData()
      form.append('file', bytes, name)
      const res = await fetch(`${pipeline.ingest}/upload`, { method: 'POST', body: form })
      if (i === 0) started = performance.now()
      ids.push(((await res.json()) as { job_id: string }).job_id)
    }
    for (const id of ids) {
      const job = await pipeline.waitFor(id, ['completed', 'failed'], 3600_000)
      if (job.status !== 'completed') throw new Error(`job failed: ${job.error}`)
    }
    const wall = (performance.now() - started) / 1000
    const own = process.cpuUsage(ownCpu)
    // CPU over the measured window only (not the transcoders' start-up).
    const transcoderCpu = transcoders.reduce((sum, t, i) => sum + t.cpuSeconds() - (before[i] ?? 0), 0)
    const usage = await Promise.all(transcoders.map((t) => t.stop()))
    const cpu = transcoderCpu + (own.user + own.system) / 1e6
    return {
      wall_s: Math.round(wall * 100) / 100,
      cpu_s: Math.round(cpu * 100) / 100,
      peak_rss_mb: Math.max(...usage.map((u) => u.peak_rss_mb)),
    }
  } finally {
    await Promise.all(transcoders.map((t) => t.stop().catch(() => {})))
    await pipeline.close()
    await rm(data, { recursive: true, force: true })
  }
}

/** A transcoder process under GNU time; stop() sends SIGTERM and returns its usage. */
function timedTranscoder(env: Record<string, string>, name: string) {
  const child = spawn(
    '/usr/bin/time',
    ['-f', '@@%e %U %S %M', process.execPath, '--import', 'tsx', 'packages/transcoder/src/serve.ts'],
    {
      cwd: ROOT,
      env: { ...process.env, ...env, CONSUMER_NAME: name, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  )
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  const done = new Promise<Measure>((resolve, reject) =>
    child.on('close', () => {
      const match = /@@([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(stderr)
      if (!match) return reject(new Error(`transcoder ${name}: ${stderr.slice(-500)}`))
      const [, wall, user, sys, rss] = match.map(Number) as [number, number, number, number, number]
      resolve({ wall_s: wall, cpu_s: user + sys, peak_rss_mb: Math.round(rss / 1024) })
    }),
  )
  let stopping: Promise<Measure> | undefined
  const nodePid = () =>
    Number(
      execFileSync('pgrep', ['-P', String(child.pid)])
        .toString()
        .trim(),
    )
  return {
    /** CPU seconds of the transcoder and its finished ffmpeg processes so far (/proc/PID/stat). */
    cpuSeconds: () => {
      const fields = readFileSync(`/proc/${nodePid()}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
      // utime, stime, cutime, cstime: fields 14-17 of stat, 12-15 after the command name.
      const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i] ?? 0), 0)
      return ticks / CLOCK_TICKS
    },
    stop: () => {
      // GNU time does not pass signals on: SIGTERM the transcoder itself, time then reports.
      stopping ??= (async () => {
        const pid = execFileSync('pgrep', ['-P', String(child.pid)])
          .toString()
          .trim()
        process.kill(Number(pid), 'SIGTERM')
        return done
      })()
      return stopping
    },
  }
}
