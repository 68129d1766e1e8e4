import { type ImageProfile, PROFILES, type VideoProfile } from '@vpp/shared'
import { describe, expect, it } from 'vitest'
import { measureArgs } from '../ffmpeg-args/index.ts'
import type { Probe } from '../probe.ts'
import {
  assembleArgs,
  audioArgs,
  audioPartFormat,
  audioPartInput,
  chunkArgs,
  chunkTiles,
  concatList,
  splitArgs,
} from './args.ts'
import { type Chunk, type Part, planChunks } from './plan.ts'

const COMMON = ['-hide_banner', '-nostdin', '-y', '-loglevel', 'error']
const SOURCE = [
  '-protocol_whitelist',
  'file',
  '-format_whitelist',
  'mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi',
  '-f',
  'mov',
  '-enable_drefs',
  '0',
  '-i',
  'file:/up/job1',
]
const hd: Probe = {
  width: 1920,
  height: 1080,
  rotation: 0,
  duration: 30,
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
const profile = (name: string) => PROFILES.find((p) => p.name === name) as VideoProfile
const plan = planChunks([0, 10, 20], 30, { chunkSeconds: 10 })
const PART = (i: number) => ({ path: `/w/part-0000${i}.mkv`, part: plan.parts[i] as Part })
// biome-ignore format: flag and value on one line
const X264_360 = [
  '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'high',
  '-crf', '21', '-maxrate', '800k', '-bufsize', '1600k', '-force_key_frames', 'expr:gte(t,n_forced*2)',
]
// biome-ignore format: flag and value on one line
const VP9_720 = [
  '-c:v', 'libvpx-vp9', '-crf', '33', '-b:v', '2000k', '-deadline', 'realtime', '-cpu-used', '8', '-row-mt', '1',
  '-force_key_frames', 'expr:gte(t,n_forced*2)',
]

describe('splitArgs', () => {
  it('copies the video stream into parts at the plan keyframes, a little before each so none is missed', () => {
    // biome-ignore format: flag and value on one line
    expect(splitArgs('/up/job1', { ...hd, videoIndex: 1 }, plan, '/w/part-%05d.mkv')).toEqual([
      ...COMMON, ...SOURCE,
      '-map', '0:1', '-c', 'copy',
      '-f', 'segment', '-segment_format', 'matroska', '-reset_timestamps', '1',
      '-segment_times', '9.999500,19.999500',
      '/w/part-%05d.mkv',
    ])
  })

  it('copies the audio stream whole into a part of its own in the same read', () => {
    // biome-ignore format: flag and value on one line
    expect(splitArgs('/up/job1', hd, plan, '/w/part-%05d.mkv', '/w/audio.mka').slice(-7)).toEqual([
      '/w/part-%05d.mkv', '-map', '0:a:0', '-c', 'copy', '-f', 'matroska', '/w/audio.mka',
    ].slice(-7))
  })

  it('copies AAC into MOV, where its priming stays skipped, and anything else into Matroska', () => {
    const args = splitArgs('/up/job1', { ...hd, audioCodec: 'aac' }, plan, '/w/part-%05d.mkv', '/w/audio')
    expect(args.slice(-3)).toEqual(['-f', 'mov', '/w/audio'])
    expect(audioPartFormat({ audioCodec: 'opus' })).toBe('matroska')
    expect(audioPartFormat({})).toBe('matroska')
  })

  it('makes one part of a one-chunk plan', () => {
    const args = splitArgs('/up/job1', hd, planChunks([0], 8, { chunkSeconds: 10 }), '/w/part-%05d.mkv')
    expect(args).not.toContain('-segment_times')
  })
})

describe('chunkArgs', () => {
  const outputs = [
    { profile: profile('360p'), path: '/w/c0-360p.mp4' },
    { profile: profile('webm_720p'), path: '/w/c0-webm_720p.webm' },
  ]
  // biome-ignore format: flag and value on one line
  const head = (input: string, seek: string[] = [], length = '10.000000') => [
    ...COMMON, '-progress', 'pipe:1', '-stats_period', '0.5',
    '-protocol_whitelist', 'file', '-f', 'matroska', '-noautorotate', ...seek, '-t', length, '-i', `file:${input}`,
  ]

  it('encodes the first, a middle and the last chunk to every rendition from one decode, video only', () => {
    const options = { threads: 2, fps: null }
    for (const i of [0, 1, 2]) {
      const chunk = plan.chunks[i] as Chunk
      // The last reads to the end of its part: a header that claims less does not cut it short.
      const toEnd = i === 2
      const input = head(`/w/part-0000${i}.mkv`)
      // x264's buffer starts 90 % full in the first chunk only (as one run's), half full after.
      const vbv = i === 0 ? [] : ['-x264-params', 'vbv-init=0.5']
      // biome-ignore format: one output a line
      expect(chunkArgs(PART(i), chunk, hd, outputs, { ...options, toEnd })).toEqual([
        ...(toEnd ? input.filter((arg, at) => arg !== '-t' && input[at - 1] !== '-t') : input),
        '-filter_complex',
        '[0:v:0]split=2[s0][s1];[s0]scale=-2:360,format=yuv420p[v0];[s1]scale=-2:720,format=yuv420p[v1]',
        '-map', '[v0]', ...X264_360, ...vbv, '-threads', '2', '-an', '-f', 'mp4', '/w/c0-360p.mp4',
        '-map', '[v1]', ...VP9_720, '-threads', '2', '-an', '-f', 'webm', '/w/c0-webm_720p.webm',
      ])
    }
  })

  it('seeks into its part where keyframes are sparse, makes a variable frame rate constant, keeps portrait', () => {
    const sparse = planChunks([0], 30, { chunkSeconds: 10 })
    const chunk = sparse.chunks[1] as Chunk
    const portrait = { ...hd, width: 1080, height: 1920, rotation: 90 as const, variableFrameRate: true }
    // biome-ignore format: one output a line
    expect(chunkArgs(PART(0), chunk, portrait, outputs.slice(0, 1), { threads: 0, fps: '30' })).toEqual([
      ...head('/w/part-00000.mkv', ['-ss', '10.000000']),
      '-filter_complex',
      '[0:v:0]transpose=clock,fps=30,split=1[s0];[s0]scale=360:-2,format=yuv420p[v0]',
      '-map', '[v0]', ...X264_360, '-x264-params', 'vbv-init=0.5', '-an', '-f', 'mp4', '/w/c0-360p.mp4',
    ])
  })
})

describe('chunkTiles', () => {
  it('gives a chunk the storyboard tiles of its stretch, on the whole video grid', () => {
    expect(chunkTiles({ start: 10, end: 20 }, 3)).toEqual({ first: 4, count: 3, offset: 2 })
    expect(chunkTiles({ start: 0, end: 10 }, 1)).toEqual({ first: 0, count: 10, offset: 0 })
    expect(chunkTiles({ start: 6.3, end: 12.6 }, 5)).toEqual({ first: 2, count: 1, offset: 3.7 })
    expect(chunkTiles({ start: 11, end: 14 }, 5)).toEqual({ first: 3, count: 0, offset: 4 })
  })
})

describe('chunkArgs with storyboard tiles and the thumbnail', () => {
  it('adds the chunk tiles, numbered as in the whole video, and the thumbnail in the chunk that holds its pick', () => {
    const thumbnail = {
      profile: PROFILES.find((p) => p.name === 'thumbnail') as ImageProfile,
      at: 7.5,
      path: '/w/thumbnail.jpg',
    }
    const tiles = { interval: 3, width: 160, height: 90, pattern: '/w/storyboard-tile-%05d.jpg' }
    const chunk = planChunks([0, 5, 10], 15, { chunkSeconds: 5 }).chunks[1] as Chunk
    const args = chunkArgs(PART(1), chunk, hd, [{ profile: profile('360p'), path: '/w/c1.mp4' }], {
      threads: 0,
      fps: null,
      tiles,
      thumbnail,
    })
    const FIT = 'force_original_aspect_ratio=decrease:force_divisible_by=2'
    expect(args[args.indexOf('-filter_complex') + 1]).toBe(
      '[0:v:0]split=3[s0][s1][s2];[s0]scale=-2:360,format=yuv420p[v0];' +
        '[s1]trim=start=1.000000,fps=1/3,scale=160:90[board];' +
        `[s2]split=2[tf][tb];[tf]trim=end_frame=1,scale=320:180:${FIT}[tfirst];` +
        `[tb]trim=start=2.500000,scale=320:180:${FIT},thumbnail=n=90,trim=end_frame=1[tbest];` +
        '[tfirst][tbest]concat=n=2:v=1:a=0[thumb]',
    )
    // biome-ignore format: flag and value on one line
    expect(args.slice(args.indexOf('/w/c1.mp4') + 1)).toEqual([
      '-map', '[board]', '-frames:v', '2', '-q:v', '2', '-start_number', '3', '-f', 'image2', '/w/storyboard-tile-%05d.jpg',
      '-map', '[thumb]', '-frames:v', '2', '-q:v', '3', '-update', '1', '-f', 'image2', '/w/thumbnail.jpg',
    ])
    // The chunks that do not hold the pick make no thumbnail.
    const first = planChunks([0, 5, 10], 15, { chunkSeconds: 5 }).chunks[0] as Chunk
    expect(
      chunkArgs(PART(0), first, hd, [{ profile: profile('360p'), path: '/w/c0.mp4' }], {
        threads: 0,
        fps: null,
        thumbnail,
      }),
    ).not.toContain('[thumb]')
  })
})

describe('chunkArgs with HLS', () => {
  it('writes an H.264 rung chunk file and its fMP4 segments from one encoder, named for the chunk and attempt', () => {
    const hls = { dir: '/w/hls/360p', name: 'c00001-a2', segmentSeconds: 4 }
    const args = chunkArgs(
      PART(1),
      plan.chunks[1] as Chunk,
      hd,
      [{ profile: profile('360p'), path: '/w/c1.mp4', hls }],
      {
        threads: 0,
        fps: null,
      },
    )
    expect(args.slice(args.indexOf('-an'))).toEqual([
      '-an',
      '-f',
      'tee',
      '[f=mp4]/w/c1.mp4|[f=hls:hls_time=4:hls_playlist_type=vod:hls_segment_type=fmp4:' +
        'hls_fmp4_init_filename=c00001-a2-init.mp4:hls_segment_filename=/w/hls/360p/c00001-a2-%03d.m4s:' +
        'hls_flags=independent_segments]/w/hls/360p/c00001-a2.m3u8',
    ])
  })
})

describe('audioArgs', () => {
  it('encodes the audio part once: one encoder per codec and bitrate, the HLS audio from the AAC one', () => {
    const outputs = [
      {
        codec: 'aac' as const,
        kbps: 128,
        path: '/w/audio-aac-128.m4a',
        hls: { dir: '/w/hls/audio', name: 'audio-l1', segmentSeconds: 4, live: true },
      },
      { codec: 'opus' as const, kbps: 96, path: '/w/audio-opus-96.webm' },
    ]
    // biome-ignore format: one output a line
    expect(audioArgs('/w/audio.mka', outputs, 'matroska')).toEqual([
      ...COMMON, '-progress', 'pipe:1', '-stats_period', '0.5',
      '-protocol_whitelist', 'file', '-f', 'matroska', '-i', 'file:/w/audio.mka',
      '-map', '0:a:0', '-vn', '-c:a', 'aac', '-b:a', '128k', '-ac', '2', '-f', 'tee',
      '[f=mp4]/w/audio-aac-128.m4a|[f=hls:hls_time=4:hls_playlist_type=event:hls_segment_type=fmp4:' +
        'hls_fmp4_init_filename=audio-l1-init.mp4:hls_segment_filename=/w/hls/audio/audio-l1-%03d.m4s:' +
        'hls_flags=independent_segments]/w/hls/audio/audio-l1.m3u8',
      '-map', '0:a:0', '-vn', '-c:a', 'libopus', '-b:a', '96k', '-ac', '2', '-f', 'webm', '/w/audio-opus-96.webm',
    ])
  })

  it('normalises every audio encode from one loudnorm with the item’s measurement (normalize_audio)', () => {
    const loudness = { input_i: -30, input_tp: -20, input_lra: 3, input_thresh: -40.5, target_offset: 0.2 }
    const outputs = [
      { codec: 'aac' as const, kbps: 128, path: '/w/audio-aac-128.m4a' },
      { codec: 'opus' as const, kbps: 96, path: '/w/audio-opus-96.webm' },
    ]
    // biome-ignore format: one output a line
    expect(audioArgs('/w/audio.mov', outputs, 'mov', undefined, loudness)).toEqual([
      ...COMMON, '-progress', 'pipe:1', '-stats_period', '0.5',
      '-protocol_whitelist', 'file', '-f', 'mov', '-i', 'file:/w/audio.mov',
      '-filter_complex',
      '[0:a:0]loudnorm=I=-16:TP=-1.5:LRA=11:measured_I=-30.00:measured_TP=-20.00:measured_LRA=3.00:' +
        'measured_thresh=-40.50:offset=0.20:linear=true:print_format=summary,aresample=48000,asplit=2[anorm0][anorm1]',
      '-map', '[anorm0]', '-vn', '-c:a', 'aac', '-b:a', '128k', '-ac', '2', '-f', 'mp4', '/w/audio-aac-128.m4a',
      '-map', '[anorm1]', '-vn', '-c:a', 'libopus', '-b:a', '96k', '-ac', '2', '-f', 'webm', '/w/audio-opus-96.webm',
    ])
  })

  it('measures the audio part, the whole of it, as pass 1', () => {
    // biome-ignore format: flag and value on one line
    expect(measureArgs(audioPartInput('/w/audio.mka', 'matroska'))).toEqual([
      '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'info', '-progress', 'pipe:1', '-stats_period', '0.5',
      '-protocol_whitelist', 'file', '-f', 'matroska', '-i', 'file:/w/audio.mka',
      '-map', '0:a:0', '-vn', '-af', 'loudnorm=I=-16:TP=-1.5:LRA=11:print_format=json', '-f', 'null', '-',
    ])
  })
})

describe('assembly', () => {
  it('lists the chunks for the concat demuxer, quoting what needs it', () => {
    expect(concatList(['/w/c0.mp4', "/w/it's.mp4"])).toBe(
      "ffconcat version 1.0\nfile '/w/c0.mp4'\nfile '/w/it'\\''s.mp4'\n",
    )
  })

  it('joins the chunks and the audio by stream copy: MP4 with faststart, WebM, video alone, or a fragmented HLS rung', () => {
    // biome-ignore format: flag and value on one line
    const concat = ['-protocol_whitelist', 'file', '-f', 'concat', '-safe', '0', '-i', 'file:/w/360p.ffconcat']
    // biome-ignore format: flag and value on one line
    expect(assembleArgs('/w/360p.ffconcat', '/w/audio.m4a', 'mp4', '/w/360p.mp4')).toEqual([
      ...COMMON, ...concat, '-protocol_whitelist', 'file', '-i', 'file:/w/audio.m4a',
      '-map', '0:v:0', '-map', '1:a:0', '-c', 'copy', '-movflags', '+faststart', '-f', 'mp4', '/w/360p.mp4',
    ])
    // biome-ignore format: flag and value on one line
    expect(assembleArgs('/w/360p.ffconcat', null, 'webm', '/w/v.webm')).toEqual([
      ...COMMON, ...concat, '-map', '0:v:0', '-c', 'copy', '-f', 'webm', '/w/v.webm',
    ])
    // A rung of the HLS stream: fragmented, its sidx in front, for the playlist's byte ranges.
    // biome-ignore format: flag and value on one line
    expect(assembleArgs('/w/360p.ffconcat', '/w/audio.m4a', 'mp4', '/w/360p.mp4', true)).toEqual([
      ...COMMON, ...concat, '-protocol_whitelist', 'file', '-i', 'file:/w/audio.m4a',
      '-map', '0:v:0', '-map', '1:a:0', '-c', 'copy',
      '-movflags', '+frag_keyframe+delay_moov+default_base_moof+global_sidx', '-f', 'mp4', '/w/360p.mp4',
    ])
  })
})
