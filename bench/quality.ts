/**
 * Quality benchmark: bytes against SSIM for capped CRF, per codec, against today's fixed bitrate.
 * Every command is written here by hand, never by the project's argument builders, so the
 * baseline does not depend on the code it judges.
 *
 *   npm run bench:quality                                  # every source; ~6 min on 2 cores
 *   npm run bench:quality -- --only camera --output bench/results/quality.json
 *   npm run bench:quality -- --h264 23 --vp9 36           # the targets at other CRF points
 *
 * Sources: the three camera clips of ../shared/media (640x480, looped to 30 s so rate control
 * settles), two generated 1280x720 clips (testsrc2 as the tests' makeClip makes it, and smooth
 * rotating gradients) and the hard clip (noisy 1920x1080 as bench:engine makes it, 8 s). Each is
 * first written as the frames every encode and every SSIM reads (lossless for the camera clips).
 *
 * Per rung, one run decodes the source once, scales it, and splits it to one encoder per point:
 * - x264 `-preset veryfast -profile:v high -crf C -maxrate R -bufsize 2R` for C in CURVE.h264,
 *   and the fixed-bitrate baseline `-b:v R -maxrate R -bufsize 2R` (today's 1-pass);
 * - libvpx-vp9 `-crf C -b:v R -deadline realtime -cpu-used 8 -row-mt 1` (constrained quality:
 *   -b:v is the cap) for C in CURVE.vp9, and the baseline `-b:v R` alone;
 * all with a keyframe every 2 s. Each encoder runs with `-threads 2`, so bytes are the same from
 * run to run (x264 and libvpx are deterministic at a given thread count; another count moves the
 * bytes by about 1 %). SSIM: the rendition against the source scaled to the rendition's size
 * (`[src]scale=W:H:flags=bicubic[ref];[rend][ref]ssim`, the `All:` value), every frame. kbps is
 * the file's size (video only, no audio) over the source's duration.
 */
import { execFile } from 'node:child_process'
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs, promisify } from 'node:util'
import { tempDir } from '@vpp/shared/testing'
import { report, round } from './lib.ts'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('..', import.meta.url))
const { values } = parseArgs({
  options: {
    only: { type: 'string', default: 'camera,generated,hard' },
    h264: { type: 'string', default: '21' },
    vp9: { type: 'string', default: '33' },
    output: { type: 'string' },
  },
})

/** The CRF points of the curve, per codec. */
const CURVE = { h264: [18, 20, 21, 23, 25, 28], vp9: [28, 31, 33, 36, 40] } as const
/** The point whose targets are reported (the chosen one, unless asked otherwise). */
const CHOSEN = { h264: Number(values.h264), vp9: Number(values.vp9) }
type Codec = keyof typeof CURVE

interface Source {
  name: string
  kind: 'camera' | 'generated' | 'hard'
  path: string
  width: number
  height: number
  seconds: number
}

interface Rung {
  name: string
  codec: Codec
  height: number
  /** The profile's bitrate: the cap of capped CRF, the target of fixed bitrate. */
  capKbps: number
}

/**
 * The rungs measured on each source: x264 at 360p and at 720p (480p for the 480-tall camera
 * clips), VP9 at the rung the pipeline makes (webm_720p; webm_original at 640x480, whose 900k
 * is the pipeline's 2000k scaled by pixels^0.75).
 */
function rungs(source: Source): Rung[] {
  if (source.height >= 720)
    return [
      { name: '360p', codec: 'h264', height: 360, capKbps: 800 },
      { name: '720p', codec: 'h264', height: 720, capKbps: 2500 },
      { name: 'webm_720p', codec: 'vp9', height: 720, capKbps: 2000 },
    ]
  return [
    { name: '360p', codec: 'h264', height: 360, capKbps: 800 },
    { name: '480p', codec: 'h264', height: 480, capKbps: 1500 },
    { name: 'webm_original', codec: 'vp9', height: source.height, capKbps: 900 },
  ]
}

const QUIET = ['-hide_banner', '-nostdin', '-y', '-loglevel', 'error']
const KEYFRAMES = ['-force_key_frames', 'expr:gte(t,n_forced*2)']

/** Encoder flags for one point: a CRF value, or 'fixed' for today's 1-pass fixed bitrate. */
function encoder(rung: Rung, point: number | 'fixed'): string[] {
  const r = `${rung.capKbps}k`
  if (rung.codec === 'h264') {
    const rate = point === 'fixed' ? ['-b:v', r] : ['-crf', String(point)]
    // biome-ignore format: flag and value on one line
    return [
      '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'high', ...rate,
      '-maxrate', r, '-bufsize', `${rung.capKbps * 2}k`, '-threads', '2',
    ]
  }
  const rate = point === 'fixed' ? ['-b:v', r] : ['-crf', String(point), '-b:v', r]
  // biome-ignore format: flag and value on one line
  return [
    '-c:v', 'libvpx-vp9', ...rate, '-deadline', 'realtime', '-cpu-used', '8', '-row-mt', '1',
    '-threads', '2',
  ]
}

/** The rendition's width for `height`, as `scale=-2:H` makes it (every source here divides evenly). */
const widthAt = (source: Source, height: number) =>
  Math.round((source.width * height) / source.height / 2) * 2

/** One decode, one scale, one encoder per point; returns the files in the order of `points`. */
async function encodeRung(source: Source, rung: Rung, points: Array<number | 'fixed'>, dir: string) {
  const labels = points.map((_, i) => `[e${i}]`).join('')
  const graph = `[0:v]scale=-2:${rung.height},format=yuv420p,split=${points.length}${labels}`
  const files = points.map((p) =>
    join(dir, `${source.name}-${rung.name}-${p}.${rung.codec === 'h264' ? 'mp4' : 'webm'}`),
  )
  const args = [...QUIET, '-i', source.path, '-filter_complex', graph]
  for (const [i, p] of points.entries())
    args.push('-map', `[e${i}]`, ...encoder(rung, p), ...KEYFRAMES, '-an', files[i] as string)
  await run('ffmpeg', args, { maxBuffer: 1 << 24 })
  return files
}

/** SSIM (`All:`) of each file against the source scaled to W:H, in one run (one decode of the source). */
async function ssimOf(source: Source, files: string[], width: number, height: number): Promise<number[]> {
  const refs = files.map((_, i) => `[r${i}]`).join('')
  const graph = [
    `[0:v]scale=${width}:${height}:flags=bicubic,format=yuv420p,split=${files.length}${refs}`,
    ...files.map((_, i) => `[${i + 1}:v]format=yuv420p[d${i}];[d${i}][r${i}]ssim[o${i}]`),
  ].join(';')
  const args = ['-hide_banner', '-nostdin', '-i', source.path, ...files.flatMap((f) => ['-i', f])]
  args.push('-filter_complex', graph, ...files.flatMap((_, i) => ['-map', `[o${i}]`, '-f', 'null', '-']))
  const { stderr } = await run('ffmpeg', args, { maxBuffer: 1 << 24 })
  // One summary line per ssim filter, named Parsed_ssim_N in the order the graph declares them.
  const lines = [...stderr.matchAll(/Parsed_ssim_(\d+) @ [^\]]+\] SSIM .* All:([\d.]+)/g)]
    .map((m) => ({ index: Number(m[1]), all: Number(m[2]) }))
    .sort((a, b) => a.index - b.index)
  if (lines.length !== files.length) throw new Error(`expected ${files.length} SSIM lines:\n${stderr}`)
  return lines.map((l) => l.all)
}

/** Write each source once, as the frames the encodes and the references read. */
async function makeSources(dir: string, kinds: string[]): Promise<Source[]> {
  const sources: Source[] = []
  if (kinds.includes('camera'))
    for (const clip of ['bird', 'book', 'milk']) {
      const path = join(dir, `${clip}.mkv`)
      // The clip's own decoded frames, looped to 30 s and kept lossless (x264 -qp 0).
      // biome-ignore format: flag and value on one line
      await run('ffmpeg', [
        ...QUIET, '-stream_loop', '-1', '-i', `${ROOT}../shared/media/${clip}.mkv`, '-t', '30', '-an',
        '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-pix_fmt', 'yuv420p', path,
      ])
      sources.push({ name: clip, kind: 'camera', path, width: 640, height: 480, seconds: 30 })
    }
  if (kinds.includes('generated')) {
    const generated = {
      // The tests' makeClip pattern (moving shapes, a counter, sharp edges).
      testsrc2: 'testsrc2=size=1280x720:rate=24:duration=10',
      // Smooth content: four fixed colours (the default is random) rotating slowly, no edges, no noise.
      gradients:
        'gradients=size=1280x720:rate=24:duration=10:n=4:speed=0.02:seed=1:c0=0x3050a0:c1=0xe0a040:c2=0x40a070:c3=0xd0d0e0',
    }
    for (const [name, lavfi] of Object.entries(generated)) {
      const path = join(dir, `${name}.mkv`)
      // biome-ignore format: flag and value on one line
      await run('ffmpeg', [
        ...QUIET, '-f', 'lavfi', '-i', lavfi,
        '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-pix_fmt', 'yuv420p', path,
      ])
      sources.push({ name, kind: 'generated', path, width: 1280, height: 720, seconds: 10 })
    }
  }
  if (kinds.includes('hard')) {
    const path = join(dir, 'noisy-1080p.mp4')
    // bench:engine's recipe: motion and heavy temporal noise, kept at x264 CRF 18 (the upload).
    // biome-ignore format: flag and value on one line
    await run('ffmpeg', [
      ...QUIET, '-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=30:duration=8,noise=alls=12:allf=t+u',
      '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-pix_fmt', 'yuv420p', path,
    ])
    sources.push({ name: 'noisy1080p', kind: 'hard', path, width: 1920, height: 1080, seconds: 8 })
  }
  return sources
}

interface Point {
  source: string
  kind: Source['kind']
  rung: string
  codec: Codec
  cap_kbps: number
  point: string
  crf: number | null
  bytes: number
  kbps: number
  ssim: number
  /** This point's bytes over the fixed-bitrate encode's, and its SSIM minus that encode's. */
  bytes_vs_fixed: number
  ssim_vs_fixed: number
}

const started = Date.now()
const dir = await tempDir('vpp-bench-quality-')
try {
  const sources = await makeSources(dir.path, (values.only ?? '').split(','))
  const points: Point[] = []
  for (const source of sources)
    for (const rung of rungs(source)) {
      const crfs: Array<number | 'fixed'> = [...CURVE[rung.codec], 'fixed']
      const files = await encodeRung(source, rung, crfs, dir.path)
      const ssims = await ssimOf(source, files, widthAt(source, rung.height), rung.height)
      const sizes = await Promise.all(files.map(async (f) => (await stat(f)).size))
      const fixedBytes = sizes.at(-1) as number
      const fixedSsim = ssims.at(-1) as number
      for (const [i, p] of crfs.entries()) {
        const bytes = sizes[i] as number
        const ssim = ssims[i] as number
        points.push({
          source: source.name,
          kind: source.kind,
          rung: rung.name,
          codec: rung.codec,
          cap_kbps: rung.capKbps,
          point: p === 'fixed' ? 'fixed' : `crf ${p}`,
          crf: p === 'fixed' ? null : p,
          bytes,
          kbps: round((bytes * 8) / source.seconds / 1000),
          ssim: round(ssim, 5),
          bytes_vs_fixed: round(bytes / fixedBytes, 3),
          ssim_vs_fixed: round(ssim - fixedSsim, 5),
        })
      }
      process.stdout.write(`${source.name} ${rung.name}: ${round((Date.now() - started) / 1000)} s\n`)
    }

  // The curve, one table per codec: a row per source and rung, a column per point (kbps / SSIM).
  const curves: Record<Codec, Array<Record<string, unknown>>> = { h264: [], vp9: [] }
  for (const p of points) {
    const rows = curves[p.codec]
    let row = rows.find((r) => r.source === p.source && r.rung === p.rung)
    if (!row) {
      row = { source: p.source, rung: p.rung, cap: `${p.cap_kbps}k` }
      rows.push(row)
    }
    row[p.point] = `${p.kbps} / ${p.ssim.toFixed(4)}`
  }

  // The issue's targets at the chosen points (and the same rules for VP9 at its rung, for reference).
  const targets: Array<Record<string, unknown>> = []
  for (const p of points) {
    if (p.crf !== CHOSEN[p.codec]) continue
    const camera = p.kind === 'camera' && (p.rung === '360p' || p.rung === 'webm_original')
    const hard = p.kind === 'hard' && (p.rung === '720p' || p.rung === 'webm_720p')
    if (!camera && !hard) continue
    const bytesOk = camera ? p.bytes_vs_fixed <= 0.5 : p.bytes_vs_fixed <= 1.05
    const ssimOk = camera ? p.ssim >= 0.99 : p.ssim_vs_fixed >= -0.005
    targets.push({
      source: p.source,
      rendition: p.rung,
      point: p.point,
      'bytes / fixed': p.bytes_vs_fixed,
      target: camera ? '≤ 0.5' : '≤ 1.05',
      bytes: bytesOk ? 'pass' : 'FAIL',
      ssim: p.ssim,
      'ssim − fixed': p.ssim_vs_fixed,
      'ssim target': camera ? '≥ 0.99' : '≥ fixed − 0.005',
      quality: ssimOk ? 'pass' : 'FAIL',
      issue: p.codec === 'h264' ? 'issue 27' : 'VP9, same rule',
    })
  }
  await report('quality, x264: kbps / SSIM per point', curves.h264)
  await report('quality, VP9: kbps / SSIM per point', curves.vp9)
  await report('quality: the targets at the chosen CRF', targets, values.output, {
    chosen: CHOSEN,
    curve_points: CURVE,
    ssim: 'rendition vs source scaled to its size, bicubic, ffmpeg ssim All:, every frame',
    seconds: round((Date.now() - started) / 1000),
    points,
  })
} finally {
  await dir.remove()
}
