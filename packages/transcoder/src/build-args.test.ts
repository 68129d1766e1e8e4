import { madeByDefault, PROFILES, type Profile } from '@vpp/shared'
import { describe, expect, it } from 'vitest'
import { buildArgs } from './build-args.ts'
import { ladder, outputFps, storyboardPlan, teeEscape, thumbnailTime } from './ffmpeg-args/index.ts'
import type { Probe } from './probe.ts'

const paths = { input: '/up/job1', outDir: '/out/job1/.tmp' }
const OUT = '/out/job1/.tmp'
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
/** A 720p source: every rung of the table fits, and the 720p ones stand for the source's size. */
const hd720: Probe = { ...hd, width: 1280, height: 720 }
/** A 360p source: the 360p rung stands for it, no rendition at its own size. */
const sd360: Probe = { ...hd, width: 640, height: 360 }
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
const PROGRESS = ['-progress', 'pipe:1', '-stats_period', '0.5']
const MP4 = ['-movflags', '+faststart', '-f', 'mp4']
/** What a job without its own list gets: the table but `audio` (made on request). */
const DEFAULT = madeByDefault(PROFILES)
const profile = (name: string) => PROFILES.find((p) => p.name === name) as Profile
/** x264 at constant quality, capped at a profile bitrate with a 2 s buffer, a keyframe every 2 s. */
// biome-ignore format: flag and value on one line
const x264 = (kbps: number) => [
  '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'high',
  '-crf', '21', '-maxrate', `${kbps}k`, '-bufsize', `${kbps * 2}k`, ...KEYFRAMES,
]
/** libvpx's constrained quality: constant quality, `-b:v` the ceiling. */
// biome-ignore format: flag and value on one line
const vp9 = (kbps: number) => [
  '-c:v', 'libvpx-vp9', '-crf', '33', '-b:v', `${kbps}k`, '-deadline', 'realtime', '-cpu-used', '8', '-row-mt', '1', ...KEYFRAMES,
]
const aac = (kbps: number) => ['-c:a', 'aac', '-b:a', `${kbps}k`, '-ac', '2']
const opus = (kbps: number) => ['-c:a', 'libopus', '-b:a', `${kbps}k`, '-ac', '2']
/** An HLS rung's MP4: fragmented, a fragment a keyframe, its sidx in front (the playlist names its byte ranges). */
const hlsRung = (name: string) => [
  '-movflags',
  '+frag_keyframe+delay_moov+default_base_moof+global_sidx',
  '-f',
  'mp4',
  `${OUT}/${name}.mp4`,
]
const THUMB_OUT = ['-map', '[thumb]', '-frames:v', '2', '-q:v', '3', '-update', '1', '-f', 'image2']
const FIT = 'force_original_aspect_ratio=decrease:force_divisible_by=2'
/** The thumbnail branch: the first frame at once, then the pick of `n` frames from `start`. */
const thumb = (start: string, n: number) =>
  `split=2[tf][tb];[tf]trim=end_frame=1,scale=320:180:${FIT}[tfirst];` +
  `[tb]trim=start=${start},scale=320:180:${FIT},thumbnail=n=${n},trim=end_frame=1[tbest];` +
  '[tfirst][tbest]concat=n=2:v=1:a=0[thumb]'
const BOARD_OUT = [
  '-map',
  '[board]',
  '-q:v',
  '2',
  '-start_number',
  '1',
  '-f',
  'image2',
  `${OUT}/storyboard-tile-%05d.jpg`,
]

describe('buildArgs', () => {
  it('makes every output of the table from one decode: MP4 + HLS rungs, VP9, thumbnail, storyboard', () => {
    const { runs, skipped, hls, storyboard } = buildArgs(paths, DEFAULT, hd720)
    expect(skipped).toEqual([
      { profile: '1440p', reason: 'source is 1280x720; 1440p would upscale it' },
      { profile: '1080p', reason: 'source is 1280x720; 1080p would upscale it' },
    ])
    expect(runs).toHaveLength(2)
    // biome-ignore format: one output per block, flag and value on one line
    expect(runs[0]?.args).toEqual([
      ...COMMON, ...PROGRESS,
      ...INPUT,
      '-filter_complex',
      '[0:0]split=6[s0][s1][s2][s3][s4][s5];' +
        '[s0]scale=-2:720,format=yuv420p[v0];' +
        '[s1]scale=-2:480,format=yuv420p[v1];' +
        '[s2]scale=-2:360,format=yuv420p[v2];' +
        '[s3]scale=-2:720,format=yuv420p[v3];' +
        `[s4]${thumb('2.500', 90)};` +
        '[s5]fps=1/1,scale=160:90[board]',
      '-map', '[v0]', '-map', '0:a:0', ...x264(2500), ...aac(128), ...hlsRung('720p'),
      '-map', '[v1]', '-map', '0:a:0', ...x264(1500), ...aac(128), ...hlsRung('480p'),
      '-map', '[v2]', '-map', '0:a:0', ...x264(800), ...aac(96), ...hlsRung('360p'),
      '-map', '[v3]', '-map', '0:a:0', ...vp9(2000), ...opus(96), '-f', 'webm', `${OUT}/webm_720p.webm`,
      ...THUMB_OUT, `${OUT}/thumbnail.jpg`,
      ...BOARD_OUT,
    ])
    expect(runs[0]?.progress).toBe(true)
    expect(runs[0]?.outputs.map((o) => [o.profile, o.path.slice(OUT.length + 1)])).toEqual([
      ['720p', '720p.mp4'],
      ['480p', '480p.mp4'],
      ['360p', '360p.mp4'],
      ['webm_720p', 'webm_720p.webm'],
      ['hls', 'hls/master.m3u8'],
      ['thumbnail', 'thumbnail.jpg'],
      ['storyboard', 'storyboard.vtt'],
    ])
    expect(hls).toEqual({
      profile: 'hls',
      dir: `${OUT}/hls`,
      variants: [
        { profile: '720p', playlist: '720p.m3u8' },
        { profile: '480p', playlist: '480p.m3u8' },
        { profile: '360p', playlist: '360p.m3u8' },
      ],
    })
    expect(storyboard).toEqual({
      profile: 'storyboard',
      interval: 1,
      tileWidth: 160,
      tileHeight: 90,
      columns: 10,
      rows: 1,
      tiles: 10,
      tilePattern: `${OUT}/storyboard-tile-%05d.jpg`,
      sheetPattern: `${OUT}/storyboard-%d.jpg`,
    })
    // Then the sheets, laid out from the tiles: no source read.
    // biome-ignore format: flag and value on one line
    expect(runs[1]).toEqual({
      args: [
        ...COMMON,
        '-f', 'image2', '-framerate', '1', '-start_number', '1', '-i', `${OUT}/storyboard-tile-%05d.jpg`,
        '-vf', 'tile=10x1',
        '-q:v', '5', '-start_number', '1', '-f', 'image2', `${OUT}/storyboard-%d.jpg`,
      ],
      outputs: [],
      progress: false,
    })
  })

  it('keeps the source quality: a 1080p source gets the 1080p rung, and webm_original at its own size', () => {
    const { videos, skipped } = ladder(PROFILES, hd)
    expect(skipped).toEqual([{ profile: '1440p', reason: 'source is 1920x1080; 1440p would upscale it' }])
    expect(videos.map((p) => [p.name, p.width, p.height, p.videoBitrateKbps, p.audioBitrateKbps])).toEqual([
      ['1080p', 1920, 1080, 5000, 128],
      ['720p', 1280, 720, 2500, 128],
      ['480p', 854, 480, 1500, 128],
      ['360p', 640, 360, 800, 96],
      ['webm_original', 1920, 1080, 3650, 96],
      ['webm_720p', 1280, 720, 2000, 96],
    ])
  })

  it('gives a 432p source (between rungs) original and webm_original, and the HLS ladder the original', () => {
    const camera: Probe = { ...hd, width: 768, height: 432, duration: 3, frameRate: 25 }
    const { runs, skipped, hls } = buildArgs(paths, DEFAULT, camera)
    expect(skipped).toEqual([
      { profile: '1440p', reason: 'source is 768x432; 1440p would upscale it' },
      { profile: '1080p', reason: 'source is 768x432; 1080p would upscale it' },
      { profile: '720p', reason: 'source is 768x432; 720p would upscale it' },
      { profile: '480p', reason: 'source is 768x432; 480p would upscale it' },
      { profile: 'webm_720p', reason: 'source is 768x432; webm_720p would upscale it' },
    ])
    // biome-ignore format: one output per block, flag and value on one line
    expect(runs[0]?.args).toEqual([
      ...COMMON, ...PROGRESS,
      ...INPUT,
      '-filter_complex',
      '[0:0]split=5[s0][s1][s2][s3][s4];' +
        '[s0]scale=trunc(iw/2)*2:trunc(ih/2)*2,format=yuv420p[v0];' +
        '[s1]scale=-2:360,format=yuv420p[v1];' +
        '[s2]scale=trunc(iw/2)*2:trunc(ih/2)*2,format=yuv420p[v2];' +
        `[s3]${thumb('0.750', 75)};` +
        '[s4]fps=1/1,scale=160:90[board]',
      '-map', '[v0]', '-map', '0:a:0', ...x264(1050), ...aac(96), ...hlsRung('original'),
      '-map', '[v1]', '-map', '0:a:0', ...x264(800), ...aac(96), ...hlsRung('360p'),
      '-map', '[v2]', '-map', '0:a:0', ...vp9(950), ...opus(96), '-f', 'webm', `${OUT}/webm_original.webm`,
      ...THUMB_OUT, `${OUT}/thumbnail.jpg`,
      ...BOARD_OUT,
    ])
    expect(hls?.variants.map((v) => v.profile)).toEqual(['original', '360p'])
  })

  it('gives a 4K source every rung from 2160p down, no two adjacent ones more than 2.25x apart in pixels', () => {
    const uhd: Probe = { ...hd, width: 3840, height: 2160 }
    const { videos, skipped } = ladder(PROFILES, uhd)
    expect(skipped).toEqual([])
    expect(videos.map((p) => [p.name, p.width, p.height, p.videoBitrateKbps])).toEqual([
      ['original', 3840, 2160, 14700],
      ['1440p', 2560, 1440, 8000],
      ['1080p', 1920, 1080, 5000],
      ['720p', 1280, 720, 2500],
      ['480p', 854, 480, 1500],
      ['360p', 640, 360, 800],
      ['webm_original', 3840, 2160, 10400],
      ['webm_720p', 1280, 720, 2000],
    ])
    const h264 = videos.filter((p) => p.codec === 'h264').map((p) => p.width * p.height)
    for (let i = 1; i < h264.length; i++)
      expect((h264[i - 1] ?? 0) / (h264[i] ?? 1)).toBeLessThanOrEqual(2.25)
  })

  it('fills the gap above the table: an 8K source gets rungs between its own size and 1440p', () => {
    const fullUhd: Probe = { ...hd, width: 7680, height: 4320 }
    const { runs } = buildArgs(paths, [profile('1440p'), profile('hls')], fullUhd)
    expect(runs[0]?.outputs.map((o) => [o.profile, o.media?.width, o.media?.height])).toEqual([
      ['original', 7680, 4320],
      ['2996p', 5326, 2996],
      ['2076p', 3690, 2076],
      ['1440p', 2560, 1440],
      ['hls', undefined, undefined],
    ])
    const graph = runs[0]?.args[(runs[0]?.args.indexOf('-filter_complex') ?? 0) + 1]
    expect(graph).toContain('[s1]scale=-2:2996,format=yuv420p[v1];[s2]scale=-2:2076,format=yuv420p[v2];')
    // A portrait one is turned the same way.
    const tall: Probe = { ...fullUhd, width: 4320, height: 7680 }
    expect(ladder([profile('1440p')], tall).videos.map((p) => p.name)).toEqual([
      'original',
      '2996p',
      '2076p',
      '1440p',
    ])
    // Below the built-in table's top, the table decides: TRANSCODE_PROFILES=360p gets no others.
    expect(ladder([profile('360p')], fullUhd).videos.map((p) => p.name)).toEqual(['original', '360p'])
  })

  it('makes exactly the profiles a job asks for: the source-size rendition only when named', () => {
    const vga: Probe = { ...hd, width: 640, height: 480, duration: 3 }
    const asked = ['360p', 'thumbnail', 'hls']
    const chosen = PROFILES.filter((p) => asked.includes(p.name))
    const { runs, skipped, hls } = buildArgs(paths, chosen, vga, { threads: 0, asked })
    expect(skipped).toEqual([])
    expect(runs[0]?.outputs.map((o) => o.profile)).toEqual(['360p', 'hls', 'thumbnail'])
    expect(hls?.variants.map((v) => v.profile)).toEqual(['360p'])
    // By default the same source also gets its own size (no rung within 10 % of it).
    expect(ladder(chosen, vga).videos.map((p) => p.name)).toEqual(['original', '360p'])
    // Named, it is made, even alone, and even when a rung is close to it.
    const withOriginal = [...asked, 'original', 'webm_original']
    expect(ladder(chosen, vga, withOriginal).videos.map((p) => [p.name, p.videoBitrateKbps])).toEqual([
      ['original', 1200],
      ['360p', 800],
      ['webm_original', 900],
    ])
    expect(ladder([], hd720, ['original']).videos.map((p) => [p.name, p.width, p.height])).toEqual([
      ['original', 1280, 720],
    ])
    // An explicit list gets no rungs between: exactly what it names.
    const fullUhd: Probe = { ...hd, width: 7680, height: 4320 }
    expect(ladder([profile('1440p')], fullUhd, ['1440p', 'original']).videos.map((p) => p.name)).toEqual([
      'original',
      '1440p',
    ])
  })

  it('makes no original when a rung is within 10 % of the source (a 400p source and its 360p rung)', () => {
    const near: Probe = { ...hd, width: 711, height: 400 }
    expect(ladder([profile('360p')], near).videos.map((p) => p.name)).toEqual(['360p'])
    const far: Probe = { ...hd, width: 712, height: 401 }
    expect(ladder([profile('360p')], far).videos.map((p) => p.name)).toEqual(['original', '360p'])
  })

  it('keeps a portrait video portrait: the profile height is the short side, tiles are tall', () => {
    const portrait: Probe = { ...hd720, width: 720, height: 1280, rotation: 90 }
    const { runs } = buildArgs(paths, [profile('720p'), profile('360p'), profile('storyboard')], portrait)
    expect(runs[0]?.args).toContain(
      '[0:0]split=3[s0][s1][s2];[s0]scale=720:-2,format=yuv420p[v0];[s1]scale=360:-2,format=yuv420p[v1];' +
        '[s2]fps=1/1,scale=160:284[board]',
    )
  })

  it('writes no audio when the input has none; sets encoder threads and the decoder pixel cap when asked', () => {
    const { runs } = buildArgs(
      paths,
      [profile('360p'), profile('hls')],
      { ...sd360, hasAudio: false },
      { threads: 1, maxPixels: 2_073_600, hlsSegmentSeconds: 6 },
    )
    // biome-ignore format: flag and value on one line
    expect(runs[0]?.args).toEqual([
      ...COMMON, ...PROGRESS,
      ...CONFINED, '-f', 'mov', '-enable_drefs', '0', '-max_pixels', '2073600', '-i', 'file:/up/job1',
      '-filter_complex', '[0:0]split=1[s0];[s0]scale=-2:360,format=yuv420p[v0]',
      '-map', '[v0]', ...x264(800), '-threads', '1', '-an', ...hlsRung('360p'),
    ])
  })

  it('writes a plain MP4 when HLS is not asked for', () => {
    const { runs, hls } = buildArgs(paths, [profile('360p')], sd360)
    expect(hls).toBeUndefined()
    expect(runs[0]?.args.slice(-5)).toEqual([...MP4, `${OUT}/360p.mp4`])
  })

  it('gives a source smaller than every rung one rendition per codec at its own, even, size', () => {
    const tiny = { ...hd, width: 320, height: 180, hasAudio: false }
    const { runs, skipped } = buildArgs(paths, DEFAULT, tiny)
    expect(skipped.map((s) => s.profile)).toEqual(['1440p', '1080p', '720p', '480p', '360p', 'webm_720p'])
    expect(runs[0]?.outputs.map((o) => o.profile)).toEqual([
      'original',
      'webm_original',
      'hls',
      'thumbnail',
      'storyboard',
    ])
    const graph = runs[0]?.args[(runs[0]?.args.indexOf('-filter_complex') ?? 0) + 1]
    expect(graph).toMatch(
      /^\[0:0\]split=4\[s0\]\[s1\]\[s2\]\[s3\];\[s0\]scale=trunc\(iw\/2\)\*2:trunc\(ih\/2\)\*2,format=yuv420p\[v0\];/,
    )
  })

  it('makes variable and very high frame rates constant, once, before the split', () => {
    const phone = { ...sd360, frameRate: 29.71, variableFrameRate: true }
    expect(buildArgs(paths, [profile('360p')], phone).runs[0]?.args).toContain(
      '[0:0]fps=30,split=1[s0];[s0]scale=-2:360,format=yuv420p[v0]',
    )
    expect(outputFps({ ...hd, frameRate: 120 })).toBe('60')
    expect(outputFps(hd)).toBeNull()
    expect(outputFps({ ...hd, frameRate: null })).toBeNull()
  })

  it('encodes the stream the probe chose, not cover art that comes first (0:v:0 would match it)', () => {
    const withCover: Probe = { ...sd360, videoIndex: 1, streams: 3 }
    const [run] = buildArgs(paths, [profile('360p'), profile('thumbnail')], withCover).runs
    expect(run?.args[run.args.indexOf('-filter_complex') + 1]).toBe(
      `[0:1]split=2[s0][s1];[s0]scale=-2:360,format=yuv420p[v0];[s1]${thumb('2.500', 90)}`,
    )
  })

  it('reads any input a second past MAX_DURATION_SECONDS at most, known duration or not; only mov gets -enable_drefs', () => {
    const live: Probe = { ...sd360, duration: null, demuxer: 'matroska', formatName: 'matroska,webm' }
    const options = { threads: 0, maxPixels: 100, maxDurationSeconds: 14400 }
    const { runs, skipped } = buildArgs(paths, [profile('360p'), profile('storyboard')], live, options)
    const args = runs[0]?.args ?? []
    // biome-ignore format: flag and value on one line
    expect(args.slice(args.indexOf('-protocol_whitelist'), args.indexOf('-filter_complex'))).toEqual([
      ...CONFINED, '-f', 'matroska', '-max_pixels', '100', '-t', '14401', '-i', 'file:/up/job1',
    ])
    // Cues must cover the duration: without one, no storyboard.
    expect(skipped).toEqual([{ profile: 'storyboard', reason: 'the input has no known duration' }])
    // A duration the container claims changes nothing: it may be forged.
    const [known] = buildArgs(paths, [profile('360p')], sd360, options).runs
    expect(known?.args.slice(known.args.indexOf('-t'), known.args.indexOf('-t') + 2)).toEqual(['-t', '14401'])
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
    const [run] = buildArgs(paths, [profile('720p'), custom], hd).runs
    const graph = run?.args[run.args.indexOf('-filter_complex') + 1]
    expect(graph).toBe(
      '[0:0]split=2[s0][s1];[s0]scale=-2:720,format=yuv420p[v0];[s1]scale=-2:1080,format=yuv420p[v1]',
    )
    expect(run?.outputs.map((o) => o.profile)).toEqual(['720p', 'custom_1080p'])
    expect(run?.args.slice(-3)).toEqual(['-f', 'mp4', `${OUT}/custom_1080p.mp4`])
  })
})

describe('storyboardPlan', () => {
  const board = profile('storyboard')
  if (board.kind !== 'storyboard') throw new Error('storyboard profile')
  it('keeps to about 100 tiles, one a second at least, more sheets when the interval is set short', () => {
    expect(storyboardPlan(paths, board, { ...hd, duration: 3600 }, { threads: 0 })).toMatchObject({
      interval: 36,
      tiles: 100,
      columns: 10,
      rows: 10,
    })
    expect(
      storyboardPlan(paths, board, { ...hd, duration: 3600 }, { threads: 0, storyboardInterval: 10 }),
    ).toMatchObject({
      interval: 10,
      tiles: 360,
      columns: 10,
      rows: 10,
    })
    expect(storyboardPlan(paths, board, { ...hd, duration: 2.5 }, { threads: 0 })).toMatchObject({
      interval: 1,
      tiles: 3,
      columns: 3,
      rows: 1,
    })
  })
})

describe('teeEscape', () => {
  it("escapes the tee muxer's separators in a path", () => {
    expect(teeEscape('/data/out/a:b|c[d]e\\f')).toBe('/data/out/a\\:b\\|c\\[d\\]e\\\\f')
  })
})

describe('thumbnailTime', () => {
  it('seeks a quarter in, at most a minute, from the start when the duration is unknown', () => {
    expect(thumbnailTime(2)).toBe('0.500')
    expect(thumbnailTime(3600)).toBe('60.000')
    expect(thumbnailTime(null)).toBe('0')
  })
})
