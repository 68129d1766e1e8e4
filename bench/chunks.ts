/**
 * What chunking costs: the chunked encode (split by stream copy, each chunk on its own, the audio
 * once, joined by stream copy) against one hand-written ffmpeg command at the same settings, on a
 * camera clip looped and scaled to 1080p with light grain and audio. For each CHUNK_SECONDS: CPU
 * seconds (all runs, user+sys, GNU time), bytes, and SSIM against the source in the seconds that
 * hold a join against the rest. Encodes the 360p rendition only (the cost of a join does not
 * depend on the rung); chunks run one after another, as one transcoder with one slot would.
 *
 *   npm run bench:chunks                                   # 120 s, chunks of 2, 4, 6 and 10 s
 *   npm run bench:chunks -- --seconds 30 --chunks 4 --output chunks.json
 */
import { execFileSync, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { PROFILES, type VideoProfile } from '@vpp/shared'
import { tempDir } from '@vpp/shared/testing'
import { parseProbe, probeArgs } from '@vpp/transcoder'
import {
  assembleArgs,
  audioArgs,
  audioPartFormat,
  chunkArgs,
  concatList,
  keyframeArgs,
  parsePackets,
  planChunks,
  splitArgs,
} from '../packages/transcoder/src/chunks/index.ts'
import { report, round } from './lib.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '120' },
    chunks: { type: 'string', default: '2,4,6,10' },
    camera: { type: 'string', default: `${ROOT}../shared/media/bird.mkv` },
    output: { type: 'string' },
  },
})
if (!existsSync('/usr/bin/time')) {
  process.stderr.write('GNU time is needed: sudo apt-get install -y time\n')
  process.exit(2)
}

/** CPU seconds (user + system) of one ffmpeg run, from GNU time. */
function cpu(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', '@@%U %S', 'ffmpeg', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    child.on('close', (code) => {
      const match = /@@([\d.]+) ([\d.]+)/.exec(stderr)
      if (code !== 0 || !match) return reject(new Error(`ffmpeg failed (${code}): ${stderr.slice(-500)}`))
      resolve(Number(match[1]) + Number(match[2]))
    })
  })
}

/** Per-second mean SSIM of `output` against `source` scaled to its size. */
async function ssimBySecond(output: string, source: string, dir: string): Promise<number[]> {
  const stats = join(dir, 'ssim.log')
  // biome-ignore format: flag and value on one line
  execFileSync('ffmpeg', [
    '-v', 'error', '-i', output, '-i', source,
    '-lavfi', `[1:v]scale=640:360[ref];[0:v][ref]ssim=stats_file=${stats}`, '-f', 'null', '-',
  ])
  const frames = (await readFile(stats, 'utf8')).split('\n').flatMap((line) => {
    const value = / All:([\d.]+)/.exec(line)?.[1]
    return value ? [Number(value)] : []
  })
  const seconds: number[][] = []
  frames.forEach((value, i) => {
    const second = Math.floor(i / 30)
    seconds[second] = [...(seconds[second] ?? []), value]
  })
  return seconds.map((values) => values.reduce((a, b) => a + b, 0) / values.length)
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length)

const dir = await tempDir('vpp-bench-chunks-')
try {
  const seconds = Number(values.seconds)
  const source = join(dir.path, 'source.mp4')
  // biome-ignore format: flag and value on one line
  execFileSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y', '-stream_loop', '-1', '-i', values.camera,
    '-f', 'lavfi', '-i', `sine=frequency=330:duration=${seconds}`, '-t', String(seconds),
    '-vf', 'scale=1920:1080,fps=30,noise=alls=6:allf=t', '-map', '0:v', '-map', '1:a',
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-g', '60', '-c:a', 'aac', source,
  ])
  const probe = parseProbe(JSON.parse(execFileSync('ffprobe', probeArgs(source, 2 ** 31 - 1)).toString()))
  const profile = PROFILES.find((p) => p.name === '360p') as VideoProfile
  const rows: Array<Record<string, unknown>> = []

  // The baseline, written by hand: one run, the same encoder settings, the audio alongside.
  const single = join(dir.path, 'single.mp4')
  // biome-ignore format: flag and value on one line
  const singleCpu = await cpu([
    '-hide_banner', '-loglevel', 'error', '-y', '-i', source,
    '-vf', 'scale=-2:360,format=yuv420p', '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'high',
    '-crf', '23', '-maxrate', '800k', '-bufsize', '1600k', '-force_key_frames', 'expr:gte(t,n_forced*2)',
    '-c:a', 'aac', '-b:a', '96k', '-ac', '2', '-movflags', '+faststart', single,
  ])
  const singleBytes = (await stat(single)).size
  const singleSsim = mean(await ssimBySecond(single, source, dir.path))
  rows.push({
    encode: 'one run (hand-written)',
    cpu_s: round(singleCpu),
    bytes: singleBytes,
    ssim: round(singleSsim, 4),
  })

  for (const chunkSeconds of values.chunks.split(',').map(Number)) {
    const work = join(dir.path, `chunks-${chunkSeconds}`)
    execFileSync('mkdir', ['-p', work])
    const keyframes = parsePackets(execFileSync('ffprobe', keyframeArgs(source, probe)).toString()).keyframes
    const plan = planChunks(keyframes, probe.duration ?? seconds, { chunkSeconds })
    const split = await cpu(
      splitArgs(source, probe, plan, join(work, 'part-%05d.mkv'), join(work, 'audio.mka')),
    )
    let chunksCpu = 0
    const files: string[] = []
    for (const chunk of plan.chunks) {
      const part = plan.parts[chunk.part]
      if (!part) throw new Error(`no part ${chunk.part}`)
      const path = join(work, `chunk-${chunk.index}.mp4`)
      const partPath = join(work, `part-${String(part.index).padStart(5, '0')}.mkv`)
      chunksCpu += await cpu(
        chunkArgs({ path: partPath, part }, chunk, probe, [{ profile, path }], { threads: 0, fps: null }),
      )
      files.push(path)
    }
    const audio = join(work, 'audio.m4a')
    const audioCpu = await cpu(
      audioArgs(join(work, 'audio.mka'), [{ codec: 'aac', kbps: 96, path: audio }], audioPartFormat(probe)),
    )
    await writeFile(join(work, 'list.ffconcat'), concatList(files))
    const output = join(work, '360p.mp4')
    const assemble = await cpu(assembleArgs(join(work, 'list.ffconcat'), audio, 'mp4', output))
    const total = split + chunksCpu + audioCpu + assemble
    const bytes = (await stat(output)).size
    const bySecond = await ssimBySecond(output, source, work)
    const joins = new Set(plan.chunks.slice(1).flatMap((c) => [Math.floor(c.start) - 1, Math.floor(c.start)]))
    const atJoins = bySecond.filter((_, s) => joins.has(s))
    const elsewhere = bySecond.filter((_, s) => !joins.has(s))
    rows.push({
      encode: `chunks of ${chunkSeconds} s (${plan.chunks.length})`,
      cpu_s: round(total),
      cpu_vs_one: round(total / singleCpu, 3),
      cpu_split_chunks_audio_join: [split, chunksCpu, audioCpu, assemble].map((n) => round(n, 2)).join(' / '),
      bytes,
      bytes_vs_one: round(bytes / singleBytes, 3),
      ssim: round(mean(bySecond), 4),
      ssim_at_joins: round(mean(atJoins), 4),
      ssim_elsewhere: round(mean(elsewhere), 4),
    })
  }
  await report(`chunked encode vs one run, ${seconds} s 1080p30 camera clip, 360p`, rows, values.output)
} finally {
  await dir.remove()
}
