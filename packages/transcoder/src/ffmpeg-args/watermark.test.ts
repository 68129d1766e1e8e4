import { PROFILES, type Profile, type VideoProfile, type Watermark } from '@vpp/shared'
import { describe, expect, it } from 'vitest'
import { buildArgs } from '../build-args.ts'
import { chunkArgs } from '../chunks/args.ts'
import { type Chunk, type Part, planChunks } from '../chunks/plan.ts'
import type { Probe } from '../probe.ts'
import { decodeCheckArgs } from '../watermark-file.ts'
import { videoHead, watermarkInputArgs, watermarkPixels } from './watermark.ts'

const COMMON = ['-hide_banner', '-nostdin', '-y', '-loglevel', 'error']
const PROGRESS = ['-progress', 'pipe:1', '-stats_period', '0.5']
const PNG_INPUT = ['-protocol_whitelist', 'file', '-f', 'png_pipe', '-i', 'file:/w/wm.png']
const hd: Probe = {
  width: 1280,
  height: 720,
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
const placed = (position: Watermark['position']): Watermark => ({ position, width: 0.15, margin: 0.02 })
const profile = (name: string) => PROFILES.find((p) => p.name === name) as Profile
// biome-ignore format: flag and value on one line
const X264_360 = [
  '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'high',
  '-crf', '21', '-maxrate', '800k', '-bufsize', '1600k', '-force_key_frames', 'expr:gte(t,n_forced*2)',
]

describe('watermark arguments', () => {
  it('sizes the image and its margin in even pixels of the display width', () => {
    expect(watermarkPixels(placed('top-left'), 1280, 720)).toEqual({ width: 192, maxHeight: 668, margin: 26 })
    expect(watermarkPixels({ position: 'center', width: 0.1, margin: 0 }, 1366, 768)).toEqual({
      width: 136,
      maxHeight: 768,
      margin: 0,
    })
    expect(watermarkPixels({ position: 'center', width: 0.02, margin: 0.2 }, 50, 50)).toEqual({
      width: 2,
      maxHeight: 30,
      margin: 10,
    })
  })

  it('reads the PNG as a second input, confined to a local file and the PNG demuxer', () => {
    expect(watermarkInputArgs('/w/wm.png')).toEqual(PNG_INPUT)
    expect(decodeCheckArgs('/w/wm.png')).toEqual([
      ...COMMON,
      ...PNG_INPUT,
      ...['-map', '0:v:0', '-frames:v', '1', '-f', 'null', '-'],
    ])
  })

  it('lays the image over the video before the split, at each position', () => {
    const overlays: Record<Watermark['position'], string> = {
      'top-left': 'x=26:y=26',
      'top-right': 'x=main_w-overlay_w-26:y=26',
      'bottom-left': 'x=26:y=main_h-overlay_h-26',
      'bottom-right': 'x=main_w-overlay_w-26:y=main_h-overlay_h-26',
      center: 'x=(main_w-overlay_w)/2:y=(main_h-overlay_h)/2',
    }
    for (const [position, xy] of Object.entries(overlays)) {
      expect(videoHead('0:0', '', 2, hd, placed(position as Watermark['position']))).toBe(
        `[1:v]scale=192:668:force_original_aspect_ratio=decrease:force_divisible_by=2,format=rgba[wm];[0:0][wm]overlay=${xy},split=2[s0][s1]`,
      )
    }
    // After the rotation and the frame rate: placed on the upright picture.
    expect(
      videoHead('0:v:0', 'transpose=clock,fps=30,', 1, { width: 720, height: 1280 }, placed('top-left')),
    ).toBe(
      '[1:v]scale=108:1252:force_original_aspect_ratio=decrease:force_divisible_by=2,format=rgba[wm];[0:v:0]transpose=clock,fps=30[base];[base][wm]overlay=x=14:y=14,split=1[s0]',
    )
    expect(videoHead('0:0', 'fps=30,', 2, hd)).toBe('[0:0]fps=30,split=2[s0][s1]')
  })

  it('gives the single run the PNG as input 1 and the overlay at the head of its graph', () => {
    const { runs } = buildArgs(
      { input: '/up/job1', outDir: '/o' },
      [profile('360p'), profile('thumbnail')],
      hd,
      {
        threads: 0,
        asked: ['360p', 'thumbnail'],
        watermark: { path: '/w/wm.png', placement: placed('bottom-right') },
      },
    )
    // biome-ignore format: flag and value on one line
    expect(runs[0]?.args).toEqual([
      ...COMMON, ...PROGRESS,
      '-protocol_whitelist', 'file', '-format_whitelist', 'mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi',
      '-f', 'mov', '-enable_drefs', '0', '-i', 'file:/up/job1',
      ...PNG_INPUT,
      '-filter_complex',
      '[1:v]scale=192:668:force_original_aspect_ratio=decrease:force_divisible_by=2,format=rgba[wm];[0:0][wm]overlay=x=main_w-overlay_w-26:y=main_h-overlay_h-26,split=2[s0][s1];' +
        '[s0]scale=-2:360,format=yuv420p[v0];' +
        '[s1]split=2[tf][tb];[tf]trim=end_frame=1,scale=320:180:force_original_aspect_ratio=decrease:force_divisible_by=2[tfirst];' +
        '[tb]trim=start=7.500,scale=320:180:force_original_aspect_ratio=decrease:force_divisible_by=2,thumbnail=n=90,trim=end_frame=1[tbest];' +
        '[tfirst][tbest]concat=n=2:v=1:a=0[thumb]',
      '-map', '[v0]', '-map', '0:a:0', ...X264_360, '-c:a', 'aac', '-b:a', '96k', '-ac', '2',
      '-movflags', '+faststart', '-f', 'mp4', '/o/360p.mp4',
      '-map', '[thumb]', '-frames:v', '2', '-q:v', '3', '-update', '1', '-f', 'image2', '/o/thumbnail.jpg',
    ])
  })

  it('gives each chunk run the PNG as input 1 and the overlay after its rotation and frame rate', () => {
    const plan = planChunks([0, 10, 20], 30, { chunkSeconds: 10 })
    const chunk = plan.chunks[1] as Chunk
    const args = chunkArgs(
      { path: '/w/part-00001.mkv', part: plan.parts[1] as Part },
      chunk,
      { ...hd, width: 720, height: 1280, rotation: 90 },
      [{ profile: profile('360p') as VideoProfile, path: '/w/c1.mp4' }],
      { threads: 0, fps: '30', watermark: { path: '/w/wm.png', placement: placed('top-right') } },
    )
    // biome-ignore format: flag and value on one line
    expect(args).toEqual([
      ...COMMON, ...PROGRESS,
      '-protocol_whitelist', 'file', '-f', 'matroska', '-noautorotate', '-t', '10.000000', '-i', 'file:/w/part-00001.mkv',
      ...PNG_INPUT,
      '-filter_complex',
      '[1:v]scale=108:1252:force_original_aspect_ratio=decrease:force_divisible_by=2,format=rgba[wm];[0:v:0]transpose=clock,fps=30[base];[base][wm]overlay=x=main_w-overlay_w-14:y=14,split=1[s0];' +
        '[s0]scale=360:-2,format=yuv420p[v0]',
      '-map', '[v0]', ...X264_360, '-x264-params', 'vbv-init=0.5', '-an', '-f', 'mp4', '/w/c1.mp4',
    ])
  })
})
