/**
 * A job's clip, in arguments: what the single run reads, how the chunked engine plans, splits and
 * encodes only the clip's stretch, and the clip refused after probing. Exact arrays.
 */
import { PermanentJobError, PROFILES, type Profile, type VideoProfile } from '@vpp/shared'
import { describe, expect, it } from 'vitest'
import { buildArgs } from './build-args.ts'
import { audioArgs, chunkArgs, splitArgs } from './chunks/args.ts'
import { type EncodePlan, encodePlan } from './chunks/encode-plan.ts'
import { type Chunk, planChunks } from './chunks/plan.ts'
import { checkClip, clipTimeline, onFrames } from './clip.ts'
import { inputArgs } from './ffmpeg-args/index.ts'
import { type FfprobeJson, type Probe, parseProbe } from './probe.ts'
import { fromClipStart } from './quality.ts'

const COMMON = ['-hide_banner', '-nostdin', '-y', '-loglevel', 'error']
const PROGRESS = ['-progress', 'pipe:1', '-stats_period', '0.5']
// biome-ignore format: flag and value on one line
const CONFINED = [
  '-protocol_whitelist', 'file',
  '-format_whitelist', 'mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi',
  '-f', 'mov', '-enable_drefs', '0',
]
const hd: Probe = {
  width: 1280,
  height: 720,
  rotation: 0,
  duration: 60.2,
  videoCodec: 'h264',
  pixFmt: 'yuv420p',
  frameRate: 25,
  variableFrameRate: false,
  hasAudio: true,
  audioCodec: 'aac',
  demuxer: 'mov',
  formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
  streams: 2,
  videoIndex: 0,
}
const profile = (name: string) => PROFILES.find((p) => p.name === name) as Profile
const every = (step: number, until: number) =>
  Array.from({ length: Math.ceil(until / step) }, (_, i) => i * step)

describe('checkClip', () => {
  const refused = (clip: { start: number; end: number }) => {
    try {
      checkClip(clip, hd)
    } catch (error) {
      return error
    }
    return null
  }

  it('refuses for good a clip past the end, saying both lengths', () => {
    const late = refused({ start: 10, end: 95 })
    expect(late).toBeInstanceOf(PermanentJobError)
    expect(late).toMatchObject({
      code: 'clip_out_of_range',
      message: 'clip ends at 95 s; the video is 60.2 s long',
    })
    expect(refused({ start: 60.2, end: 70 })).toMatchObject({
      code: 'clip_out_of_range',
      message: 'clip starts at 60.2 s; the video is 60.2 s long',
    })
  })

  it('takes a clip to the end, and up to a frame past it (rounding), never clamping it', () => {
    expect(refused({ start: 0, end: 60.2 })).toBeNull()
    expect(refused({ start: 50, end: 60.24 })).toBeNull()
    expect(refused({ start: 50, end: 60.25 })).toMatchObject({ code: 'clip_out_of_range' })
    expect(refused({ start: 50, end: 60.3 })).toMatchObject({ code: 'clip_out_of_range' })
    // A container that does not say its length: nothing to check against.
    expect(() => checkClip({ start: 50, end: 95 }, { ...hd, duration: null })).not.toThrow()
  })

  it('moves the cuts onto the frames: a quarter frame before the first at or after start, half one before end', () => {
    // 25 fps: frames every 0.04 s; 12.48 and 30 are frames already, 12.5 is between two.
    expect(onFrames({ start: 12.48, end: 30 }, hd)).toEqual({ start: 12.47, end: 29.98 })
    expect(onFrames({ start: 12.5, end: 30.01 }, hd)).toEqual({ start: 12.51, end: 30.02 })
    const rate = 30000 / 1001
    const ntsc = onFrames({ start: 1, end: 2 }, { ...hd, frameRate: rate })
    expect([ntsc?.start, ntsc?.end].map((t) => Math.round((t ?? 0) * rate * 100) / 100)).toEqual([
      29.75, 59.5,
    ])
    // A variable or too-high rate is made constant after the cut: not moved.
    expect(onFrames({ start: 12.51, end: 30 }, { ...hd, variableFrameRate: true })).toEqual({
      start: 12.51,
      end: 30,
    })
    expect(onFrames({ start: 12.51, end: 30 }, { ...hd, frameRate: 120 })).toEqual({ start: 12.51, end: 30 })
    expect(onFrames(undefined, hd)).toBeUndefined()
    // A video that starts after the file (its audio first): its frames at 0.021 + k / 30.
    const late = { ...hd, frameRate: 30, videoStart: 0.021 }
    expect(onFrames({ start: 20, end: 50 }, late)).toEqual({ start: 20.012667, end: 50.004333 })
    expect(onFrames({ start: 0, end: 1 }, late)).toEqual({ start: 0.012667, end: 1.004333 })
  })

  it('knows where the video starts in its file, for the frames of a clip', () => {
    const json = (video: string, format: string): FfprobeJson => ({
      streams: [
        { codec_type: 'video', codec_name: 'h264', width: 640, height: 480, start_time: video },
        { codec_type: 'audio', codec_name: 'aac', start_time: format },
      ],
      format: { duration: '100.2', format_name: 'matroska,webm', start_time: format },
    })
    expect(parseProbe(json('0.021000', '0.000000')).videoStart).toBe(0.021)
    expect(parseProbe(json('1.500000', '1.500000'))).not.toHaveProperty('videoStart')
  })

  it('gives the encode the clip timeline: its length, all else the source', () => {
    expect(clipTimeline(hd, { start: 12.5, end: 30 })).toEqual({ ...hd, duration: 17.5 })
    expect(clipTimeline(hd, undefined)).toBe(hd)
  })
})

describe('the single run of a clip', () => {
  it('reads the clip only: -ss at its start, -t its length, within the read limit', () => {
    const options = { threads: 0, maxDurationSeconds: 3600, clip: { start: 12.5, end: 30 } }
    // biome-ignore format: flag and value on one line
    expect(inputArgs('/up/job1', hd, options)).toEqual([
      ...CONFINED, '-ss', '12.5', '-t', '17.5', '-i', 'file:/up/job1',
    ])
    // A clip longer than the limit is still read a second past the limit at most.
    // biome-ignore format: flag and value on one line
    expect(inputArgs('/up/job1', hd, { ...options, maxDurationSeconds: 10 })).toEqual([
      ...CONFINED, '-ss', '12.5', '-t', '11', '-i', 'file:/up/job1',
    ])
    // biome-ignore format: flag and value on one line
    expect(inputArgs('/up/job1', hd, { threads: 0, maxDurationSeconds: 3600 })).toEqual([
      ...CONFINED, '-t', '3601', '-i', 'file:/up/job1',
    ])
  })

  it('puts the thumbnail and storyboard on the clip timeline', () => {
    const clip = { start: 40, end: 48 }
    const { runs, storyboard } = buildArgs(
      { input: '/up/job1', outDir: '/o' },
      [profile('360p'), profile('thumbnail'), profile('storyboard')],
      clipTimeline(hd, clip),
      { threads: 0, clip },
    )
    const args = runs[0]?.args ?? []
    expect(args.slice(0, 9 + CONFINED.length + 6)).toEqual([
      ...COMMON,
      ...PROGRESS,
      ...CONFINED,
      '-ss',
      '40',
      '-t',
      '8',
      '-i',
      'file:/up/job1',
    ])
    // A quarter of the clip in (2 s), not of the source (15 s); a tile a second, 8 of them.
    expect(args[args.indexOf('-filter_complex') + 1]).toContain('trim=start=2.000,')
    expect(storyboard?.tiles).toBe(8)
  })
})

describe('the chunked plan of a clip', () => {
  it('plans only the clip, its chunks on its timeline, its parts in the source', () => {
    // Keyframes every 2 s; the clip 11-33 s: starts between two (10 and 12).
    const plan = planChunks(every(2, 60), 60, { chunkSeconds: 8, lead: [2, 2], clip: { start: 11, end: 33 } })
    expect(plan.chunks.map((c) => [c.index, c.start, c.end, c.part, c.seek])).toEqual([
      [0, 0, 2, 0, 1],
      [1, 2, 4, 0, 3],
      [2, 4, 13, 0, 5],
      [3, 13, 22, 1, 0],
    ])
    // The split's part 0 (0-10 s) is not kept: the parts are numbered as the split writes them.
    expect(plan.parts).toEqual([
      { index: 1, start: 10, end: 24 },
      { index: 2, start: 24, end: 33 },
    ])
    expect(plan.clip).toEqual({ start: 11, end: 33 })
  })

  it('starts exactly at the clip start between sparse keyframes, reading from the one before', () => {
    const plan = planChunks([0, 30], 60, { chunkSeconds: 6, clip: { start: 7.3, end: 20 } })
    expect(plan.parts).toEqual([{ index: 0, start: 0, end: 20 }])
    expect(plan.chunks.map((c) => [c.start, c.end, c.part, c.seek])).toEqual([
      [0, 6, 0, 7.3],
      [6, 12.7, 0, 13.3],
    ])
  })

  it('splits to a second past the clip end, cutting at its parts, the first after the stretch before it', () => {
    const plan = planChunks(every(2, 60), 60, { chunkSeconds: 8, lead: [2, 2], clip: { start: 11, end: 33 } })
    // biome-ignore format: flag and value on one line
    expect(splitArgs('/up/job1', hd, plan, '/w/part-%05d.mkv', '/w/audio')).toEqual([
      ...COMMON,
      ...CONFINED, '-t', '34', '-i', 'file:/up/job1',
      '-map', '0:0', '-c', 'copy',
      '-f', 'segment', '-segment_format', 'matroska', '-reset_timestamps', '1',
      '-segment_times', '9.999500,23.999500',
      '/w/part-%05d.mkv',
      '-map', '0:a:0', '-c', 'copy', '-f', 'mov', '/w/audio',
    ])
  })

  it('encodes the first chunk from the clip start inside its part', () => {
    const plan = planChunks(every(2, 60), 60, { chunkSeconds: 8, lead: [2, 2], clip: { start: 11, end: 33 } })
    const part = plan.parts[0] as (typeof plan.parts)[number]
    const outputs = [{ profile: profile('360p') as VideoProfile, path: '/w/c0-360p.mp4' }]
    // biome-ignore format: flag and value on one line
    expect(chunkArgs({ path: '/w/part-00001.mkv', part }, plan.chunks[0] as Chunk, hd, outputs, { threads: 0, fps: null })).toEqual([
      ...COMMON, ...PROGRESS,
      '-protocol_whitelist', 'file', '-f', 'matroska', '-noautorotate',
      '-ss', '1.000000', '-t', '2.000000', '-i', 'file:/w/part-00001.mkv',
      '-filter_complex', '[0:v:0]split=1[s0];[s0]scale=-2:360,format=yuv420p[v0]',
      '-map', '[v0]',
      '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'high',
      '-crf', '21', '-maxrate', '800k', '-bufsize', '1600k', '-force_key_frames', 'expr:gte(t,n_forced*2)',
      '-an', '-f', 'mp4', '/w/c0-360p.mp4',
    ])
  })

  it('encodes the audio of the clip only, from its start, as long as the clip', () => {
    const outputs = [{ codec: 'aac' as const, kbps: 96, path: '/w/audio-aac-96.m4a' }]
    // biome-ignore format: flag and value on one line
    expect(audioArgs('/w/audio.mov', outputs, 'mov', { start: 11, end: 33 })).toEqual([
      ...COMMON, ...PROGRESS,
      '-ss', '11', '-t', '22',
      '-protocol_whitelist', 'file', '-f', 'mov', '-i', 'file:/w/audio.mov',
      '-map', '0:a:0', '-vn', '-c:a', 'aac', '-b:a', '96k', '-ac', '2', '-f', 'mp4', '/w/audio-aac-96.m4a',
    ])
  })

  it('gives the encode plan the clip length, its thumbnail time and storyboard', () => {
    const plan = encodePlan(
      hd,
      [profile('360p'), profile('thumbnail'), profile('storyboard')],
      { keyframes: every(2, 60), duration: 60.2, chunkSeconds: 8, clip: { start: 11, end: 33 } },
      { hlsSegmentSeconds: 4, lease: 7 },
    )
    expect(plan.duration).toBe(22)
    expect(plan.clip).toEqual({ start: 11, end: 33 })
    expect(plan.thumbnail?.at).toBe(5.5)
    expect(plan.storyboard?.tiles).toBe(22)
    expect(plan.parts.map((p) => p.piece)).toEqual(['part-l7-00001.mkv', 'part-l7-00002.mkv'])
  })

  it('reads a plan stored before clips as the whole source', () => {
    // Such a plan has no `clip`: its parts from 0, its split and audio unchanged.
    const stored = JSON.parse(
      JSON.stringify(
        encodePlan(
          hd,
          [profile('360p')],
          { keyframes: every(2, 60), duration: 60.2, chunkSeconds: 8 },
          { hlsSegmentSeconds: 4, lease: 7 },
        ),
      ),
    ) as EncodePlan
    expect(stored.clip).toBeUndefined()
    expect(stored.duration).toBe(60.2)
    expect(stored.parts[0]).toMatchObject({ index: 0, start: 0 })
    const split = splitArgs('/up/job1', hd, stored, '/w/part-%05d.mkv')
    expect(split).not.toContain('-t')
    expect(split[split.indexOf('-segment_times') + 1]?.startsWith('1.999500,')).toBe(true)
    const audio = audioArgs(
      '/w/audio.mov',
      [{ codec: 'aac', kbps: 96, path: '/w/a.m4a' }],
      'mov',
      stored.clip,
    )
    expect(audio).not.toContain('-ss')
  })
})

describe('SSIM of a clip', () => {
  it('reads the source from the clip start: its start moved there, its earlier keyframes gone', () => {
    expect(fromClipStart({ start: 0, keyframes: [0, 2, 4, 6] }, 3)).toEqual({ start: 3, keyframes: [1, 3] })
    expect(fromClipStart({ start: 0.1, keyframes: [0, 2, 4] }, 2.1)).toEqual({
      start: 2.1,
      keyframes: [0, 2],
    })
    const whole = { start: 0, keyframes: [0, 2] }
    expect(fromClipStart(whole, 0)).toBe(whole)
  })
})
