import { PROFILES, type Profile } from '@vpp/shared'
import { describe, expect, it } from 'vitest'
import { buildArgs, outputFps, thumbnailTime } from './build-args.ts'
import type { Probe } from './probe.ts'

const paths = { input: '/up/job1', outDir: '/out/job1/.tmp' }
const hd: Probe = {
  width: 1920,
  height: 1080,
  rotation: 0,
  duration: 10,
  videoCodec: 'h264',
  pixFmt: 'yuv420p',
  frameRate: 30,
  variableFrameRate: false,
  hasAudio: true,
  demuxer: 'mov',
  formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
  streams: 2,
  videoIndex: 0,
}
/** Only the stored file, only through the demuxer ffprobe found. */
const CONFINED = [
  '-protocol_whitelist',
  'file',
  '-format_whitelist',
  'mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi',
]
const INPUT = [...CONFINED, '-f', 'mov', '-enable_drefs', '0', '-i', 'file:/up/job1']
const KEYFRAMES = ['-force_key_frames', 'expr:gte(t,n_forced*2)']
const COMMON = ['-hide_banner', '-nostdin', '-y', '-loglevel', 'error']
const PROGRESS = ['-progress', 'pipe:1', '-stats_period', '1']
const X264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'high']
const VP9 = ['-c:v', 'libvpx-vp9', '-b:v', '2000k', '-deadline', 'realtime', '-cpu-used', '8', '-row-mt', '1']
const MP4 = ['-movflags', '+faststart', '-f', 'mp4']
const profile = (name: string) => PROFILES.find((p) => p.name === name) as Profile

describe('buildArgs', () => {
  it('decodes once and encodes every video profile of the seed table from one split graph', () => {
    const { runs, skipped } = buildArgs(paths, PROFILES, hd)
    expect(skipped).toEqual([])
    // biome-ignore format: one rendition per block, flag and value on one line
    expect(runs[0]?.args).toEqual([
      ...COMMON, ...PROGRESS,
      ...INPUT,
      '-filter_complex',
      '[0:0]split=4[s0][s1][s2][s3];' +
        '[s0]scale=-2:720,format=yuv420p[v0];' +
        '[s1]scale=-2:480,format=yuv420p[v1];' +
        '[s2]scale=-2:360,format=yuv420p[v2];' +
        '[s3]scale=-2:720,format=yuv420p[v3]',
      '-map', '[v0]', '-map', '0:a:0',
      ...X264, '-b:v', '2500k', '-maxrate', '2500k', '-bufsize', '5000k', ...KEYFRAMES,
      '-c:a', 'aac', '-b:a', '128k', '-ac', '2',
      ...MP4, '/out/job1/.tmp/720p.mp4',
      '-map', '[v1]', '-map', '0:a:0',
      ...X264, '-b:v', '1500k', '-maxrate', '1500k', '-bufsize', '3000k', ...KEYFRAMES,
      '-c:a', 'aac', '-b:a', '128k', '-ac', '2',
      ...MP4, '/out/job1/.tmp/480p.mp4',
      '-map', '[v2]', '-map', '0:a:0',
      ...X264, '-b:v', '800k', '-maxrate', '800k', '-bufsize', '1600k', ...KEYFRAMES,
      '-c:a', 'aac', '-b:a', '96k', '-ac', '2',
      ...MP4, '/out/job1/.tmp/360p.mp4',
      '-map', '[v3]', '-map', '0:a:0',
      ...VP9, ...KEYFRAMES,
      '-c:a', 'libopus', '-b:a', '96k', '-ac', '2',
      '-f', 'webm', '/out/job1/.tmp/webm_720p.webm',
    ])
    expect(runs[0]?.progress).toBe(true)
    expect(runs[0]?.outputs).toEqual([
      { profile: '720p', path: '/out/job1/.tmp/720p.mp4' },
      { profile: '480p', path: '/out/job1/.tmp/480p.mp4' },
      { profile: '360p', path: '/out/job1/.tmp/360p.mp4' },
      { profile: 'webm_720p', path: '/out/job1/.tmp/webm_720p.webm' },
    ])
  })

  it('picks a representative frame a quarter in, fitted inside 320x180', () => {
    const { runs } = buildArgs(paths, PROFILES, hd)
    expect(runs).toHaveLength(2)
    // biome-ignore format: flag and value on one line
    expect(runs[1]).toEqual({
      args: [
        ...COMMON,
        '-ss', '2.500', ...INPUT,
        '-map', '0:0',
        '-vf', 'thumbnail=n=90,scale=320:180:force_original_aspect_ratio=decrease:force_divisible_by=2',
        '-frames:v', '1', '-q:v', '3', '-update', '1', '-f', 'image2', '/out/job1/.tmp/thumbnail.jpg',
      ],
      outputs: [{ profile: 'thumbnail', path: '/out/job1/.tmp/thumbnail.jpg' }],
      progress: false,
    })
  })

  it('writes no audio when the input has none; sets encoder threads and the decoder pixel cap when asked', () => {
    const { runs } = buildArgs(
      paths,
      [profile('360p')],
      { ...hd, hasAudio: false },
      { threads: 1, maxPixels: 2_073_600 },
    )
    // biome-ignore format: flag and value on one line
    expect(runs[0]?.args).toEqual([
      ...COMMON, ...PROGRESS,
      ...CONFINED, '-f', 'mov', '-enable_drefs', '0', '-max_pixels', '2073600', '-i', 'file:/up/job1',
      '-filter_complex', '[0:0]split=1[s0];[s0]scale=-2:360,format=yuv420p[v0]',
      '-map', '[v0]',
      ...X264, '-b:v', '800k', '-maxrate', '800k', '-bufsize', '1600k', ...KEYFRAMES,
      '-threads', '1',
      '-an',
      ...MP4, '/out/job1/.tmp/360p.mp4',
    ])
  })

  it('never upscales: profiles taller than the source are skipped with the reason', () => {
    const sd = { ...hd, width: 640, height: 480 }
    const { runs, skipped } = buildArgs(paths, PROFILES, sd)
    expect(skipped).toEqual([
      { profile: '720p', reason: 'source is 640x480; 720p would upscale it' },
      { profile: 'webm_720p', reason: 'source is 640x480; webm_720p would upscale it' },
    ])
    expect(runs[0]?.outputs.map((o) => o.profile)).toEqual(['480p', '360p'])
    expect(runs[0]?.args).toContain(
      '[0:0]split=2[s0][s1];[s0]scale=-2:480,format=yuv420p[v0];[s1]scale=-2:360,format=yuv420p[v1]',
    )
  })

  it('keeps a portrait video portrait: the profile height is the short side', () => {
    const portrait = { ...hd, width: 1080, height: 1920, rotation: 90 as const }
    const { runs, skipped } = buildArgs(paths, [profile('720p'), profile('360p')], portrait)
    expect(skipped).toEqual([])
    expect(runs[0]?.args).toContain(
      '[0:0]split=2[s0][s1];[s0]scale=720:-2,format=yuv420p[v0];[s1]scale=360:-2,format=yuv420p[v1]',
    )
  })

  it('gives a source smaller than every profile one H.264 rendition at its own, even, size', () => {
    const tiny = { ...hd, width: 320, height: 180, hasAudio: false }
    const { runs, skipped } = buildArgs(paths, PROFILES, tiny)
    expect(skipped.map((s) => s.profile)).toEqual(['720p', '480p', '360p', 'webm_720p'])
    // biome-ignore format: flag and value on one line
    expect(runs[0]?.args).toEqual([
      ...COMMON, ...PROGRESS,
      ...INPUT,
      '-filter_complex', '[0:0]split=1[s0];[s0]scale=trunc(iw/2)*2:trunc(ih/2)*2,format=yuv420p[v0]',
      '-map', '[v0]',
      ...X264, '-b:v', '800k', '-maxrate', '800k', '-bufsize', '1600k', ...KEYFRAMES,
      '-an',
      ...MP4, '/out/job1/.tmp/original.mp4',
    ])
    expect(runs[1]?.outputs).toEqual([{ profile: 'thumbnail', path: '/out/job1/.tmp/thumbnail.jpg' }])
  })

  it('makes variable and very high frame rates constant, once, before the split', () => {
    const phone = { ...hd, frameRate: 29.71, variableFrameRate: true }
    expect(buildArgs(paths, [profile('360p')], phone).runs[0]?.args).toContain(
      '[0:0]fps=30,split=1[s0];[s0]scale=-2:360,format=yuv420p[v0]',
    )
    expect(outputFps({ ...hd, frameRate: 120 })).toBe('60')
    expect(outputFps(hd)).toBeNull()
    expect(outputFps({ ...hd, frameRate: null })).toBeNull()
  })

  it('encodes the stream the probe chose, not cover art that comes first (0:v:0 would match it)', () => {
    const withCover: Probe = { ...hd, videoIndex: 1, streams: 3 }
    const [renditions, thumbnail] = buildArgs(paths, [profile('360p'), profile('thumbnail')], withCover).runs
    expect(renditions?.args[renditions.args.indexOf('-filter_complex') + 1]).toBe(
      '[0:1]split=1[s0];[s0]scale=-2:360,format=yuv420p[v0]',
    )
    expect(thumbnail?.args.slice(thumbnail.args.indexOf('-map'), thumbnail.args.indexOf('-map') + 2)).toEqual(
      ['-map', '0:1'],
    )
  })

  it('reads an input of unknown duration for MAX_DURATION_SECONDS at most; only mov gets -enable_drefs', () => {
    const live: Probe = { ...hd, duration: null, demuxer: 'matroska', formatName: 'matroska,webm' }
    const options = { threads: 0, maxPixels: 100, maxDurationSeconds: 14400 }
    const [run] = buildArgs(paths, [profile('360p')], live, options).runs
    // biome-ignore format: flag and value on one line
    expect(run?.args.slice(run.args.indexOf('-protocol_whitelist'), run.args.indexOf('-filter_complex'))).toEqual([
      ...CONFINED, '-f', 'matroska', '-max_pixels', '100', '-t', '14400', '-i', 'file:/up/job1',
    ])
    const [known] = buildArgs(paths, [profile('360p')], hd, options).runs
    expect(known?.args).not.toContain('-t')
  })

  it('adds a profile by adding one table entry', () => {
    const custom: Profile = {
      name: 'custom_1080p',
      kind: 'video',
      codec: 'h264',
      width: 1920,
      height: 1080,
      videoBitrateKbps: 5000,
      audioBitrateKbps: 192,
      container: 'mp4',
    }
    const [run] = buildArgs(paths, [...PROFILES, custom], hd).runs
    const graph = run?.args[run.args.indexOf('-filter_complex') + 1]
    expect(graph).toMatch(/^\[0:0\]split=5\[s0\]\[s1\]\[s2\]\[s3\]\[s4\];/)
    expect(graph).toMatch(/;\[s4\]scale=-2:1080,format=yuv420p\[v4\]$/)
    expect(run?.outputs.map((o) => o.profile)).toEqual(['720p', '480p', '360p', 'webm_720p', 'custom_1080p'])
    expect(run?.args.slice(-3)).toEqual(['-f', 'mp4', '/out/job1/.tmp/custom_1080p.mp4'])
  })
})

describe('thumbnailTime', () => {
  it('seeks a quarter in, at most a minute, from the start when the duration is unknown', () => {
    expect(thumbnailTime(2)).toBe('0.500')
    expect(thumbnailTime(3600)).toBe('60.000')
    expect(thumbnailTime(null)).toBe('0')
  })
})
