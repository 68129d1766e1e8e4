/**
 * Engine benchmark: the pipeline against ffmpeg commands written by hand, in one alternating run.
 *
 *   npm run bench:engine                          # 8 s and 30 s noisy 1080p, and a camera clip
 *   npm run bench:engine -- --seconds 8 --rounds 2 --output engine.json
 *   npm run bench:engine -- --chunked             # the chunked engine instead: bench/engine-chunked.ts
 *
 * For each source, in turn within each round:
 * - raw:       bench/raw-command.ts, written by hand (never by buildArgs): one decode split to
 *              the same MP4 and VP9 encoders at the pipeline's settings, then a one-frame thumbnail;
 * - naive:     one ffmpeg run per output, each decoding the source again;
 * - pipeline:  an upload through the HTTP API making everything (MP4s, VP9, HLS, storyboard,
 *              thumbnail), timed from the 202 to the job's own `updated_at`;
 * - mp4s only: the same pipeline without the HLS and storyboard profiles, to show their cost.
 * Wall time, CPU seconds (user+sys of the process tree) and peak RSS (largest process) come from
 * GNU time; the pipeline's CPU is its transcoder's tree plus this process (ingest and status).
 */
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { type Job, JobSchema, PROFILES } from '@vpp/shared'
import { startTestRedis, tempDir } from '@vpp/shared/testing'
import { parseProbe } from '@vpp/transcoder'
import { startPipeline } from '../test/harness.ts'
import { naiveCommands, RAW_LADDERS, rawCommands } from './raw-command.ts'

// `--chunked`: the chunked engine's suite (time to playable, one job across transcoders, the
// cost of chunking), with its own options; this file's suite does not run.
if (process.argv.includes('--chunked')) {
  await import('./engine-chunked.ts')
  process.exit()
}

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '8,30' },
    rounds: { type: 'string', default: '1' },
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

/** The hand-written command lines (as shell scripts) for one source. */
async function commands(source: string, outDir: string) {
  const p = await probe(source)
  const ladder = RAW_LADDERS[Math.min(p.width, p.height) >= 1080 ? '1080p' : '480p']
  await mkdir(`${outDir}/raw`, { recursive: true })
  await mkdir(`${outDir}/naive`, { recursive: true })
  return {
    raw: shell(rawCommands(source, ladder, p.hasAudio, `${outDir}/raw`)),
    naive: shell(naiveCommands(source, ladder, p.hasAudio, `${outDir}/naive`)),
    renditions: ladder.map((r) => r.name),
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
  date: new Date().toISOString(),
  machine: { cores: (await import('node:os')).availableParallelism() },
}
/** The pipeline without HLS and storyboard: the MP4s, the VP9 and the thumbnail. */
const MP4S_ONLY = PROFILES.filter((p) => p.kind === 'video' || p.kind === 'image')
  .map((p) => p.name)
  .join(',')
try {
  const sources: Array<{ name: string; path: string }> = []
  for (const seconds of values.seconds.split(',').map(Number)) {
    const path = `${dir.path}/noisy-1080p-${seconds}s.mp4`
    await makeSource(path, seconds)
    sources.push({ name: `noisy 1080p ${seconds} s`, path })
  }
  if (values.real && existsSync(values.real))
    sources.push({ name: `camera ${values.real.split('/').pop()}`, path: values.real })

  const results: Record<string, Record<string, Measure[]>> = {}
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const source of sources) {
      const cmd = await commands(source.path, `${dir.path}/out`)
      const runs = results[source.name] ?? {}
      results[source.name] = runs
      const add = (mode: string, measure: Measure) => {
        runs[mode] = [...(runs[mode] ?? []), measure]
      }
      add('raw', await timed(cmd.raw))
      add('pipeline', await pipelineRun(source.path, {}))
      add('naive', await timed(cmd.naive))
      add('mp4s only', await pipelineRun(source.path, { TRANSCODE_PROFILES: MP4S_ONLY }))
      process.stdout.write(
        `${source.name} round ${round + 1}: ${Object.entries(runs)
          .map(([mode, m]) => `${mode} ${m.at(-1)?.wall_s}s`)
          .join(', ')}\n`,
      )
    }
  }
  const single: Record<string, unknown> = {}
  for (const [name, runs] of Object.entries(results)) {
    const best = (mode: string) => median(runs[mode] ?? [])
    const [raw, naive, pipeline, mp4s] = [best('raw'), best('naive'), best('pipeline'), best('mp4s only')]
    single[name] = {
      raw,
      naive,
      pipeline,
      'mp4s only': mp4s,
      'pipeline/raw wall': ratio(pipeline.wall_s, raw.wall_s),
      'pipeline/raw cpu': ratio(pipeline.cpu_s, raw.cpu_s),
      'pipeline/raw peak rss': ratio(pipeline.peak_rss_mb, raw.peak_rss_mb),
      'pipeline/naive wall': ratio(pipeline.wall_s, naive.wall_s),
      'hls+storyboard cpu over mp4s only': ratio(pipeline.cpu_s, mp4s.cpu_s),
      'mp4s only/raw wall': ratio(mp4s.wall_s, raw.wall_s),
    }
  }
  report.single = single
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
  if (values.output) await writeFile(values.output, `${JSON.stringify(report, null, 2)}\n`)
} finally {
  await redis.stop()
  await dir.remove()
}

/** The run in the middle of several (each field on its own). */
function median(runs: Measure[]): Measure {
  const mid = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0
  return {
    wall_s: mid(runs.map((r) => r.wall_s)),
    cpu_s: mid(runs.map((r) => r.cpu_s)),
    peak_rss_mb: mid(runs.map((r) => r.peak_rss_mb)),
  }
}

function ratio(a: number, b: number) {
  return Math.round((a / b) * 1000) / 1000
}

/**
 * Upload `source` to a fresh pipeline whose transcoder (one job at a time) runs as a child
 * process under GNU time; time from the 202 to the job's own `updated_at` when it completed.
 * The job is looked at every 250 ms (one HGETALL): the wait costs next to no CPU, and the time
 * comes from the job's record, not from when the poll noticed.
 */
async function pipelineRun(source: string, extra: Record<string, string>): Promise<Measure> {
  const data = `${dir.path}/pipeline-${Date.now()}`
  const pipeline = await startPipeline(redis, data, { WORKER_CONCURRENCY: '1', ...extra })
  const transcoder = timedTranscoder({ ...pipeline.env, ...extra }, 'bench')
  try {
    // Wait for the transcoder to be up (its consumer appears in the group).
    const { stream, group } = pipeline.store.keys
    for (let i = 0; i < 200; i++) {
      const consumers = await pipeline.store.client.xInfoConsumers(stream, group).catch(() => [])
      if (consumers.length >= 1) break
      await new Promise((r) => setTimeout(r, 100))
    }
    const form = new FormData()
    form.append('file', new Blob([await readFile(source)]), source.split('/').pop() ?? 'video.mp4')
    const ownCpu = process.cpuUsage() // ingest and status run in this process
    const before = transcoder.cpuSeconds()
    const res = await fetch(`${pipeline.ingest}/upload`, { method: 'POST', body: form })
    const accepted = Date.now()
    const { job_id } = (await res.json()) as { job_id: string }
    let job: Job | null = null
    for (;;) {
      job = await pipeline.store.get(job_id)
      if (job?.status === 'completed' || job?.status === 'failed') break
      await new Promise((r) => setTimeout(r, 250))
    }
    if (JobSchema.parse(job).status !== 'completed') throw new Error(`job failed: ${job?.error}`)
    const wall = (Date.parse(job.updated_at) - accepted) / 1000
    const own = process.cpuUsage(ownCpu)
    const transcoderCpu = transcoder.cpuSeconds() - before
    const usage = await transcoder.stop()
    return {
      wall_s: Math.round(wall * 100) / 100,
      cpu_s: Math.round((transcoderCpu + (own.user + own.system) / 1e6) * 100) / 100,
      peak_rss_mb: usage.peak_rss_mb,
    }
  } finally {
    await transcoder.stop().catch(() => {})
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
