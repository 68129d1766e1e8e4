/**
 * Memory benchmark: how much one ffmpeg run of the pipeline maps (VmPeak, what RLIMIT_AS bounds)
 * and holds (VmHWM) for the largest ordinary input, a 4K 60 fps clip, at each thread count per
 * encoder, against the default FFMPEG_MEMORY_LIMIT_MB for that count (memoryLimitMb).
 *
 *   npm run bench:memory                                  # 4 s of 4K 60 fps, 1/4/8/16 threads
 *   npm run bench:memory -- --threads 1,2 --size 7680x4320 --output memory.json
 *
 * This sizes a limit for the pipeline's own command, so it runs buildArgs' plan (every profile of
 * the table) with no limit of its own; it is not a speed comparison and has no baseline.
 */
import { execFileSync, spawn } from 'node:child_process'
import { mkdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { PROFILES } from '@vpp/shared'
import { tempDir } from '@vpp/shared/testing'
import { buildArgs, memoryLimitMb, parseProbe, probeArgs } from '@vpp/transcoder'
import { report, sleep } from './lib.ts'

const { values } = parseArgs({
  options: {
    threads: { type: 'string', default: '1,4,8,16' },
    size: { type: 'string', default: '3840x2160' },
    fps: { type: 'string', default: '60' },
    seconds: { type: 'string', default: '4' },
    output: { type: 'string' },
  },
})

const dir = await tempDir()
try {
  const source = join(dir.path, 'source.mp4')
  // Noisy (every frame differs), with sound, as a camera would give it.
  // biome-ignore format: one flag and its value a line
  execFileSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=${values.size}:rate=${values.fps}:duration=${values.seconds}`,
    '-f', 'lavfi', '-i', `sine=frequency=440:duration=${values.seconds}`,
    '-vf', 'noise=alls=20:allf=t', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '23',
    '-c:a', 'aac', '-shortest', source,
  ])
  const probe = parseProbe(JSON.parse(execFileSync('ffprobe', probeArgs(source, 2 ** 31 - 1)).toString()))
  const rows: Array<Record<string, unknown>> = []
  for (const threads of values.threads.split(',').map(Number)) {
    const outDir = join(dir.path, `out-${threads}`)
    await mkdir(outDir)
    const plan = buildArgs({ input: source, outDir }, PROFILES, probe, {
      threads,
      maxPixels: 2 ** 31 - 1,
      hlsSegmentSeconds: 4,
    })
    for (const rung of plan.hls?.variants ?? [])
      await mkdir(join(plan.hls?.dir ?? outDir, rung.profile), { recursive: true })
    for (const run of plan.runs) {
      const peak = await peakOf(run.args)
      rows.push({
        source: `${values.size}@${values.fps}`,
        threads,
        vm_peak_mb: peak.vmPeak,
        vm_hwm_mb: peak.vmHwm,
        default_limit_mb: memoryLimitMb(threads),
        headroom: `${Math.round((memoryLimitMb(threads) / peak.vmPeak - 1) * 100)} %`,
      })
    }
    await rm(outDir, { recursive: true, force: true })
  }
  await report('ffmpeg memory, one run of the whole ladder', rows, values.output)
} finally {
  await dir.remove()
}

/** Run ffmpeg, reading its VmPeak and VmHWM (monotonic high-water marks) every 20 ms until it ends. */
async function peakOf(args: string[]): Promise<{ vmPeak: number; vmHwm: number }> {
  const child = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'inherit'] })
  const closed = new Promise<number | null>((resolve) => child.once('close', resolve))
  let ended = false
  void closed.then(() => {
    ended = true
  })
  const peak = { vmPeak: 0, vmHwm: 0 }
  while (!ended) {
    const status = await readFile(`/proc/${child.pid}/status`, 'utf8').catch(() => '')
    const mb = (name: string) =>
      Math.round(Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) / 1024)
    peak.vmPeak = Math.max(peak.vmPeak, mb('VmPeak'))
    peak.vmHwm = Math.max(peak.vmHwm, mb('VmHWM'))
    await sleep(20)
  }
  if ((await closed) !== 0) throw new Error('ffmpeg failed')
  return peak
}
