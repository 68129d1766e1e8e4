/**
 * The chunked engine through the whole pipeline (issue 26): time to playable, one job shared by
 * transcoders, and what chunking costs. Started by bench/engine.ts when given `--chunked`.
 *
 *   npm run bench:engine -- --chunked                      # 30 s, 2 min and 10 min clips; ~16 min
 *   npm run bench:engine -- --chunked --seconds 30 --output /tmp/chunked.json   # to try the code
 *   npm run bench:engine -- --chunked --playable-only --output /tmp/playable.json # step 1 only
 *
 * Sources: a camera clip (../shared/media/bird.mkv) looped, scaled to 1920x1080 30 fps with light
 * grain and a sine tone, cached under --cache so that reruns do not make them again (the first
 * run takes ~11 min more to make them, on 2 cores). Steps, in one alternating round:
 * 1. playable: each clip uploaded to a pipeline with one transcoder (its defaults); the time from
 *    the 202 to `job.playable` (SSE), and to the first moment the stream at `playback.hls` decodes
 *    its first 4 s (the rung the master lists first, with its audio, from local copies of the
 *    growing playlists ended by #EXT-X-ENDLIST, segments over HTTP); and playable_at - created_at.
 *    The job is then canceled.
 * 2. shared: the job clip (2 min) with one transcoder pinned to core 0, with two pinned to cores 0
 *    and 1 (WORKER_CONCURRENCY=1 each), and in one run (CHUNK_SECONDS=0, core 0): the job's own
 *    created_at -> updated_at; the chunk items' timings from the transcoders' logs ("chunk done"),
 *    and from them 8 transcoders on paper (their items in queue order on the first free of 8).
 * 3. cost: CPU (user+sys of the transcoder's tree, /proc) of chunked against one run, both on one
 *    pinned core; the bytes of each rendition; per-second SSIM against the source of the 720p
 *    rendition in the seconds holding a join (from the HLS playlist: a chunk's first segment is
 *    `c00003-l1-000.m4s`) and elsewhere; and the chunked 720p against one hand-written ffmpeg run
 *    at the same capped-CRF settings on the same core (video bytes).
 */
import { execFile, execFileSync, spawn } from 'node:child_process'
import { existsSync, openAsBlob, readFileSync } from 'node:fs'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs, promisify } from 'node:util'
import { type Job, JobSchema, PROFILES, type VideoProfile } from '@vpp/shared'
import { startTestRedis, tempDir } from '@vpp/shared/testing'
import { startPipeline } from '../test/harness.ts'
import { openSse } from '../test/sse.ts'
import { machine, round } from './lib.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const run = promisify(execFile)
const { values } = parseArgs({
  options: {
    chunked: { type: 'boolean' },
    seconds: { type: 'string', default: '30,120,600' },
    camera: { type: 'string', default: `${ROOT}../shared/media/bird.mkv` },
    cache: { type: 'string', default: join(tmpdir(), 'vpp-bench-sources') },
    output: { type: 'string', default: `${ROOT}bench/results/engine-chunked.json` },
    /** Step 1 only (time to playable): a few minutes instead of a quarter of an hour. */
    'playable-only': { type: 'boolean' },
  },
})
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100
const FPS = 30
const lengths = (values.seconds ?? '').split(',').map(Number)
/** The clip of steps 2 and 3: the 2-min one, else the shortest asked for. */
const jobSeconds = lengths.includes(120) ? 120 : Math.min(...lengths)
const P720 = PROFILES.find((p) => p.name === '720p') as VideoProfile

/** Clip `seconds` long, made once (cached by name). */
async function clip(seconds: number): Promise<string> {
  const path = join(values.cache, `bird-1080p30-grain-${seconds}s.mp4`)
  if (existsSync(path)) return path
  await mkdir(values.cache, { recursive: true })
  const started = performance.now()
  // biome-ignore format: flag and value on one line
  await run('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y', '-stream_loop', '-1', '-i', values.camera,
    '-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`, '-t', String(seconds),
    '-vf', 'scale=1920:1080,noise=alls=6:allf=t', '-r', String(FPS), '-map', '0:v', '-map', '1:a',
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-b:a', '128k', '-shortest', `${path}.part.mp4`,
  ])
  await rename(`${path}.part.mp4`, path)
  console.log(`made ${path} in ${round((performance.now() - started) / 1000)} s`)
  return path
}

interface LogLine {
  time: string
  msg: string
  item?: string
  duration_ms?: number
  split_ms?: number
  chunks?: number
}

/**
 * `npm run start:transcoder` as a child process, pinned with taskset to `core` when given, its
 * info log kept (JSON lines). cpu(): user+sys of it and its finished children (/proc).
 */
function transcoder(env: Record<string, string>, name: string, core?: number) {
  const pin = core === undefined ? [] : ['taskset', '-c', String(core)]
  const [command, ...args] = [...pin, process.execPath, '--import', 'tsx', 'packages/transcoder/src/serve.ts']
  const child = spawn(command as string, args, {
    cwd: ROOT,
    env: { ...process.env, ...env, CONSUMER_NAME: name, LOG_FORMAT: 'json', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const logs: LogLine[] = []
  let rest = ''
  child.stdout.on('data', (data: Buffer) => {
    const lines = (rest + data.toString()).split('\n')
    rest = lines.pop() ?? ''
    for (const line of lines) if (line.startsWith('{')) logs.push(JSON.parse(line) as LogLine)
  })
  let stderr = ''
  child.stderr.on('data', (data: Buffer) => {
    stderr = (stderr + data.toString()).slice(-4000)
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return {
    name,
    logs,
    stderr: () => stderr,
    cpu() {
      const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      // utime, stime, cutime, cstime: fields 14-17 of stat, 12-15 after the command name.
      return [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i] ?? 0), 0) / CLOCK_TICKS
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exited
    },
  }
}
type Transcoder = ReturnType<typeof transcoder>

interface Run {
  job: Job
  /** Seconds from the 202 (this process's clock). */
  accepted: number
  upload_s: number
  playable_event_s?: number
  decoded_4s_s?: number
  /** To decoding 4 s with the master listing an audio rendition too. */
  with_audio_s?: number
  /** The rung decoded (the master's first). */
  rung?: string
  /** The 1-minute load average when the job ended. */
  load: number
  cpu_s: number
  /** ingest and status (this process) over the same time. */
  services_cpu_s: number
  logs: LogLine[][]
  folder: string
}

/**
 * Upload `source` to a fresh pipeline (ingest and status here, `cores.length` child transcoders
 * with `env`, each pinned to its core or not when undefined) and follow the job to its end, or
 * with `playable`, until its stream decodes its first 4 s, with sound (then cancel it). Its
 * outputs stay in `folder`, for the caller to look at and remove.
 */
async function pipelineRun(
  source: string,
  env: Record<string, string>,
  cores: Array<number | undefined>,
  options: { playable?: boolean } = {},
): Promise<Run> {
  const data = join(dir.path, `run-${Date.now()}`)
  const p = await startPipeline(redis, data, env)
  const transcoders: Transcoder[] = cores.map((core, i) => transcoder({ ...p.env }, `t${i}`, core))
  try {
    // Up: its read loop runs from its start-up line on (an idle consumer shows in XINFO only
    // once it has read an entry).
    for (let i = 0; !transcoders.every((t) => t.logs.some((l) => l.msg === 'transcoder started')); i++) {
      if (i > 600) {
        const why = transcoders.map((t) => `${t.stderr()} ${JSON.stringify(t.logs.slice(-5))}`)
        throw new Error(`transcoders did not start: ${why.join('\n')}`)
      }
      await sleep(100)
    }
    const cpuBefore = transcoders.map((t) => t.cpu())
    const ownBefore = process.cpuUsage()
    const form = new FormData()
    form.append('file', await openAsBlob(source), source.split('/').pop() ?? 'video.mp4')
    const sent = performance.now()
    const res = await fetch(`${p.ingest}/upload`, { method: 'POST', body: form })
    const accepted = performance.now()
    if (res.status !== 202) throw new Error(`upload answered ${res.status}: ${await res.text()}`)
    const { job_id: id } = (await res.json()) as { job_id: string }
    const sse = openSse(`${p.status}/jobs/${id}/events`)
    const since = () => round((performance.now() - accepted) / 1000, 2)
    const result: Partial<Run> = { upload_s: round((accepted - sent) / 1000, 2) }
    const final = new Set(['job.completed', 'job.failed', 'job.canceled'])
    const waitFor = async (types: string[]) => {
      for (let seen = 0; ; seen++) {
        await sse.waitFor(seen + 1, 3600_000)
        const type = sse.events[seen]?.event ?? ''
        if (types.includes(type) || final.has(type)) return type
      }
    }
    if (options.playable) {
      const first = await waitFor(['job.playable'])
      if (first !== 'job.playable') {
        const job = await p.store.get(id)
        throw new Error(`job ${id} ended ${first} before it was playable: ${job?.error}`)
      }
      result.playable_event_s = since()
      const job = JobSchema.parse(await (await fetch(`${p.status}/jobs/${id}`)).json())
      // Its path on this status service (PUBLIC_URL is unset: the URL names port 0).
      const hls = new URL(job.playback?.hls ?? '', p.status)
      const master = new URL(hls.pathname + hls.search, p.status)
      const work = join(data, 'check')
      let check = await decodes4s(master, work)
      while (!check.decodes) {
        await sleep(200)
        check = await decodes4s(master, work)
      }
      result.decoded_4s_s = since()
      result.rung = check.rung
      // The source has sound: the first moment the master lists an audio rendition that decodes
      // too (a player that read the master before plays without sound). Given up after 300 s.
      if (!check.audio) {
        const deadline = performance.now() + 300_000
        while (!(check.audio && check.decodes) && performance.now() < deadline) {
          await sleep(500)
          check = await decodes4s(master, work)
        }
      }
      result.with_audio_s = check.audio && check.decodes ? since() : undefined
      await fetch(`${p.status}/jobs/${id}/cancel`, { method: 'POST' })
    }
    const last = await waitFor([])
    sse.close()
    const job = JobSchema.parse(await p.store.get(id))
    if (!options.playable && last !== 'job.completed') throw new Error(`job ${id} ${last}: ${job.error}`)
    const own = process.cpuUsage(ownBefore)
    return {
      ...result,
      job,
      accepted,
      cpu_s: round(
        transcoders.reduce((sum, t, i) => sum + t.cpu() - (cpuBefore[i] ?? 0), 0),
        2,
      ),
      services_cpu_s: round((own.user + own.system) / 1e6, 2),
      logs: transcoders.map((t) => t.logs),
      load: load()[0] ?? 0,
      folder: join(data, 'output', id),
    } as Run
  } finally {
    for (const t of transcoders) await t.stop()
    await p.close()
  }
}

/**
 * Whether the stream at `master` decodes its first 4 s as published so far: the first rung the
 * master lists, with its audio rendition when it lists one, from copies of their playlists with
 * absolute URLs ended by #EXT-X-ENDLIST (ffmpeg waits on a growing EVENT playlist), segments
 * over HTTP. The master alone is read while a rung's playlist holds less than 4 s.
 */
async function decodes4s(master: URL, work: string) {
  await mkdir(work, { recursive: true })
  const text = await (await fetch(master)).text()
  const rung = text.split('\n').find((l) => l.endsWith('.m3u8') && !l.startsWith('#')) ?? ''
  const audio = /TYPE=AUDIO.*URI="([^"]+)"/.exec(text)?.[1]
  const answer = { rung: rung.split('/')[0], audio: audio !== undefined, decodes: false }
  const inputs: string[] = []
  for (const [i, uri] of [rung, audio].entries()) {
    if (!uri) continue
    const url = new URL(uri, master)
    const playlist = await (await fetch(url)).text()
    const seconds = [...playlist.matchAll(/#EXTINF:([\d.]+)/g)].reduce((s, m) => s + Number(m[1]), 0)
    if (seconds < 4) return answer
    const absolute = playlist
      .split('\n')
      .map((line) => (line && !line.startsWith('#') ? new URL(line, url).href : line))
      .join('\n')
      .replace(/URI="([^"]+)"/, (_, u: string) => `URI="${new URL(u, url).href}"`)
    const copy = join(work, `${i}.m3u8`)
    await writeFile(copy, `${absolute.trimEnd()}\n#EXT-X-ENDLIST\n`)
    inputs.push('-protocol_whitelist', 'file,http,tcp', '-i', copy)
  }
  const maps = audio ? ['-map', '0:v:0', '-map', '1:a:0'] : ['-map', '0:v:0']
  // biome-ignore format: flag and value on one line
  const { stdout } = await run('ffmpeg', [
    '-v', 'error', '-nostdin', ...inputs, ...maps, '-t', '4', '-progress', 'pipe:1', '-f', 'null', '-',
  ])
  const outTime = Number([...stdout.matchAll(/out_time_us=(\d+)/g)].at(-1)?.[1] ?? 0) / 1e6
  return { ...answer, decodes: outTime >= 4 - 1 / FPS - 0.01 }
}

/** Seconds between two ISO times. */
const span = (from: string | undefined, to: string | undefined) =>
  from && to ? round((Date.parse(to) - Date.parse(from)) / 1000, 2) : null

/**
 * What the transcoders' logs say of the chunk items: their wall times, the time before the first
 * began (probe, keyframes, split: the coordinator alone) and after the last ended (assembly), and
 * the job on 8 transcoders of one slot each: its items in queue order (lead chunks, audio, the
 * rest) each on the first free of 8, between the same before and after.
 */
function chunkTimings(run: Run) {
  const done = run.logs.flat().filter((l) => l.msg === 'chunk done' && l.item && l.duration_ms !== undefined)
  if (done.length === 0) return null
  const items = done.map((l) => ({
    item: l.item as string,
    s: (l.duration_ms as number) / 1000,
    end: Date.parse(l.time) / 1000,
  }))
  const created = Date.parse(run.job.created_at) / 1000
  const finished = Date.parse(run.job.updated_at) / 1000
  const firstStart = Math.min(...items.map((i) => i.end - i.s))
  const lastEnd = Math.max(...items.map((i) => i.end))
  const queue = [...items].sort((a, b) => rank(a.item) - rank(b.item))
  const slots = new Array<number>(8).fill(0)
  for (const { s } of queue) {
    const free = slots.indexOf(Math.min(...slots))
    slots[free] = (slots[free] ?? 0) + s
  }
  const before = firstStart - created
  const after = finished - lastEnd
  const sum = items.reduce((total, i) => total + i.s, 0)
  const chunks = items.filter((i) => i.item !== 'audio')
  return {
    items: items.length,
    sum_s: round(sum, 2),
    chunk_mean_s: round(chunks.reduce((t, i) => t + i.s, 0) / chunks.length, 2),
    longest_s: round(Math.max(...items.map((i) => i.s)), 2),
    audio_s: round(items.find((i) => i.item === 'audio')?.s ?? 0, 2),
    before_first_s: round(before, 2),
    after_last_s: round(after, 2),
    split_s: round(
      (run.logs.flat().find((l) => l.msg === 'chunked encode planned')?.split_ms ?? 0) / 1000,
      2,
    ),
    estimate_8_sum_s: round(before + sum / 8 + after, 1),
    estimate_8_queue_s: round(before + Math.max(...slots) + after, 1),
  }
}
/** Queue order: c00000, c00001, audio, c00002, ... */
const rank = (item: string) => (item === 'audio' ? 1.5 : Number(item.slice(1)))

/** Bytes of the video packets of `path`. */
async function videoBytes(path: string): Promise<number> {
  const { stdout } = await run(
    'ffprobe',
    ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=size', '-of', 'csv=p=0', path],
    { maxBuffer: 64 * 1024 * 1024 },
  )
  return stdout.split('\n').reduce((sum, line) => sum + (Number(line) || 0), 0)
}

/** Per-second mean SSIM of `output` against `source` scaled to 1280x720. */
async function ssimBySecond(output: string, source: string, work: string): Promise<number[]> {
  const stats = join(work, 'ssim.log')
  // biome-ignore format: flag and value on one line
  await run('ffmpeg', [
    '-v', 'error', '-nostdin', '-i', output, '-i', source,
    '-lavfi', `[1:v]scale=${P720.width}:${P720.height}[ref];[0:v][ref]ssim=stats_file=${stats}`, '-f', 'null', '-',
  ])
  const seconds: number[][] = []
  let frame = 0
  for (const line of (await readFile(stats, 'utf8')).split('\n')) {
    const value = / All:([\d.]+)/.exec(line)?.[1]
    if (!value) continue
    const second = Math.floor(frame++ / FPS)
    seconds[second] = [...(seconds[second] ?? []), Number(value)]
  }
  return seconds.map((v) => mean(v))
}
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / Math.max(1, v.length)

/** Where the chunks after the first start (seconds), from an HLS rung's playlist. */
async function joins(playlist: string): Promise<number[]> {
  const found: number[] = []
  let at = 0
  let extinf = 0
  for (const line of (await readFile(playlist, 'utf8')).split('\n')) {
    const length = /^#EXTINF:([\d.]+)/.exec(line)?.[1]
    if (length) extinf = Number(length)
    else if (line && !line.startsWith('#')) {
      if (/^c\d+-.*-000\.m4s$/.test(line) && at > 0) found.push(at)
      at += extinf
    }
  }
  return found
}

/**
 * One hand-written ffmpeg run on `core`: the 720p rendition at the chunk runs' capped-CRF
 * settings (chunks/args.ts), over the whole clip at once. Wall and CPU (GNU time).
 */
async function handWritten720p(source: string, out: string, core: number) {
  // biome-ignore format: flag and value on one line
  const ffmpeg = [
    'ffmpeg', '-v', 'error', '-nostdin', '-y', '-i', source,
    '-vf', `scale=-2:${P720.height},format=yuv420p`,
    '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'high', '-crf', '21',
    '-maxrate', `${P720.videoBitrateKbps}k`, '-bufsize', `${P720.videoBitrateKbps * 2}k`,
    // A keyframe every 2 s, as the chunk runs force them.
    '-force_key_frames', 'expr:gte(t,n_forced*2)',
    '-c:a', 'aac', '-b:a', `${P720.audioBitrateKbps}k`, '-ac', '2', '-movflags', '+faststart', out,
  ]
  const started = performance.now()
  await run('/usr/bin/time', ['-f', '%U %S', '-o', `${out}.time`, 'taskset', '-c', String(core), ...ffmpeg])
  const [user = 0, sys = 0] = (await readFile(`${out}.time`, 'utf8')).trim().split(' ').map(Number)
  return { wall_s: round((performance.now() - started) / 1000, 2), cpu_s: round(user + sys, 2) }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const load = () => loadavg().map((l) => round(l, 2))

const dir = await tempDir('vpp-bench-engine-chunked-')
const redis = await startTestRedis()
const out: Record<string, unknown> = {
  suite: 'engine-chunked',
  machine: machine(),
  command: `npm run bench:engine -- ${process.argv.slice(2).join(' ')}`,
  load_before: load(),
}
try {
  const sources = new Map<number, string>()
  for (const seconds of [...new Set([...lengths, jobSeconds])]) sources.set(seconds, await clip(seconds))
  const startedAt = performance.now()

  // 1. Time to playable, one transcoder with its defaults.
  const playable: Array<Record<string, unknown>> = []
  for (const seconds of lengths) {
    const r = await pipelineRun(sources.get(seconds) as string, {}, [undefined], { playable: true })
    const logs = r.logs.flat()
    playable.push({
      clip_s: seconds,
      upload_s: r.upload_s,
      'to job.playable (SSE) s': r.playable_event_s,
      'to decoding 4 s s': r.decoded_4s_s,
      rung: r.rung,
      'to decoding 4 s with audio s': r.with_audio_s ?? null,
      'playable_at - created_at s': span(r.job.created_at, r.job.playable_at),
      'split s': round((logs.find((l) => l.msg === 'chunked encode planned')?.split_ms ?? 0) / 1000, 2),
      chunks: logs.find((l) => l.msg === 'chunked encode planned')?.chunks,
      load: r.load,
    })
    console.log(`playable ${seconds} s:`, playable.at(-1))
    await rm(join(r.folder, '..', '..'), { recursive: true, force: true })
  }
  out.playable = playable
  console.log('\n1. Time to playable (one transcoder, WORKER_CONCURRENCY=2)')
  console.table(playable)
  if (values['playable-only']) {
    out.load_after = load()
    await writeFile(values.output, `${JSON.stringify(out, null, 2)}\n`)
    console.log(`written: ${values.output}`)
    process.exit(0)
  }

  // 2 and 3: the job clip, alternating: chunked on 1 core, on 2 transcoders, one run on 1 core.
  const source = sources.get(jobSeconds) as string
  const one = { WORKER_CONCURRENCY: '1' }
  const onOne = await pipelineRun(source, one, [0])
  console.log(`chunked, 1 transcoder: ${span(onOne.job.created_at, onOne.job.updated_at)} s`)
  const onTwo = await pipelineRun(source, one, [0, 1])
  console.log(`chunked, 2 transcoders: ${span(onTwo.job.created_at, onTwo.job.updated_at)} s`)
  const single = await pipelineRun(source, { ...one, CHUNK_SECONDS: '0' }, [0])
  console.log(`one run: ${span(single.job.created_at, single.job.updated_at)} s`)
  const hand = await handWritten720p(source, join(dir.path, 'hand-720p.mp4'), 0)
  console.log(`hand-written 720p: ${hand.wall_s} s`)

  const jobTime = (r: Run) => span(r.job.created_at, r.job.updated_at) ?? Number.NaN
  const shared = [
    { run: 'chunked, 1 transcoder (core 0)', r: onOne },
    { run: 'chunked, 2 transcoders (cores 0, 1)', r: onTwo },
    { run: 'one run (CHUNK_SECONDS=0, core 0)', r: single },
  ].map(({ run, r }) => ({
    run,
    'job s': jobTime(r),
    'transcoder cpu s': r.cpu_s,
    'services cpu s': r.services_cpu_s,
    load: r.load,
    ...(chunkTimings(r) ?? {}),
  }))
  out.shared = {
    clip_s: jobSeconds,
    runs: shared,
    'job time 2 / 1 transcoders': round(jobTime(onTwo) / jobTime(onOne), 3),
    'job time chunked 1 / one run': round(jobTime(onOne) / jobTime(single), 3),
  }
  console.log(`\n2. One job (${jobSeconds} s) across transcoders (pinned, WORKER_CONCURRENCY=1 each)`)
  console.table(shared)

  // 3. The cost: CPU, bytes, SSIM next to the joins.
  const size = (r: Run, profile: string) => r.job.outputs?.find((o) => o.profile === profile)?.size_bytes ?? 0
  const bytes = (onOne.job.outputs ?? []).map((o) => ({
    rendition: o.profile,
    chunked: o.size_bytes,
    'one run': size(single, o.profile),
    'chunked / one run': round(o.size_bytes / size(single, o.profile), 3),
  }))
  const chunked720 = join(onOne.folder, '720p.mp4')
  const handPath = join(dir.path, 'hand-720p.mp4')
  const [chunkedVideo, handVideo] = [await videoBytes(chunked720), await videoBytes(handPath)]
  const at = await joins(join(onOne.folder, 'hls', '720p', 'index.m3u8'))
  const joinSeconds = new Set(at.flatMap((t) => [Math.floor(t) - 1, Math.floor(t)]))
  const ssim: Array<Record<string, unknown>> = []
  for (const [name, path] of [
    ['chunked', chunked720],
    ['one run', join(single.folder, '720p.mp4')],
    ['hand-written', handPath],
  ] as const) {
    const bySecond = await ssimBySecond(path, source, dir.path)
    ssim.push({
      '720p': name,
      'ssim at joins': round(mean(bySecond.filter((_, s) => joinSeconds.has(s))), 4),
      'ssim elsewhere': round(mean(bySecond.filter((_, s) => !joinSeconds.has(s))), 4),
      'ssim all': round(mean(bySecond), 4),
      'worst second at a join': round(Math.min(...bySecond.filter((_, s) => joinSeconds.has(s))), 4),
    })
  }
  const sameSettings = {
    'chunked video bytes': chunkedVideo,
    'hand-written video bytes': handVideo,
    'chunked / hand-written': round(chunkedVideo / handVideo, 4),
    'hand-written cpu s': hand.cpu_s,
    'hand-written wall s': hand.wall_s,
  }
  out.cost = {
    clip_s: jobSeconds,
    'cpu s chunked': onOne.cpu_s,
    'cpu s one run': single.cpu_s,
    'cpu chunked / one run': round(onOne.cpu_s / single.cpu_s, 3),
    bytes,
    same_settings_720p: sameSettings,
    joins_s: at.map((t) => round(t, 3)),
    ssim,
  }
  console.log(`\n3. Cost of chunking (${jobSeconds} s, one core)`)
  console.table([
    {
      'cpu s chunked': onOne.cpu_s,
      'cpu s one run': single.cpu_s,
      ratio: round(onOne.cpu_s / single.cpu_s, 3),
    },
  ])
  console.table(bytes)
  console.table([sameSettings])
  console.table(ssim)
  for (const r of [onOne, onTwo, single])
    await rm(join(r.folder, '..', '..'), { recursive: true, force: true })
  out.load_after = load()
  out.wall_s = round((performance.now() - startedAt) / 1000)
  await writeFile(values.output, `${JSON.stringify(out, null, 2)}\n`)
  console.log(`written: ${values.output} (${out.wall_s} s; load ${out.load_before} -> ${out.load_after})`)
} finally {
  await redis.stop()
  await dir.remove()
}
