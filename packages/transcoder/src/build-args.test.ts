import { PROFILES, type Profile } from '@vpp/shared'
import { describe, expect, it } from 'vitest'
import { buildArgs, thumbnailTime } from './build-args.ts'
import type { Probe } from './probe.ts'

const paths = { input: '/up/job1', outDir: '/out/job1/.tmp' }
const hd: Probe = { width: 1920, height: 1080, duration: 10, videoCodec: 'h264', hasAudio: true }
const KEYFRAMES = ['-force_key_frames', 'expr:gte(t,n_forced*2)']
const COMMON = ['-hide_banner', '-nostdin', '-y', '-loglevel', 'error']

describe('buildArgs', () => {
  it('decodes once and encodes every video profile of the seed table from one split graph', () => {
    const [renditions] = buildArgs(paths, PROFILES, hd)
    // biome-ignore format: one rendition per block, flag and value on one line
    expect(renditions?.args).toEqual([
      ...COMMON,
      '-i',
      '/up/job1',
      '-filter_complex',
      '[0:v:0]split=4[s0][s1][s2][s3];' +
        '[s0]scale=-2:720,format=yuv420p[v0];' +
        '[s1]scale=-2:480,format=yuv420p[v1];' +
        '[s2]scale=-2:360,format=yuv420p[v2];' +
        '[s3]scale=-2:720,format=yuv420p[v3]',
      // 720p
      '-map', '[v0]', '-map', '0:a:0',
      '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'high',
      '-b:v', '2500k', '-maxrate', '2500k', '-bufsize', '5000k', ...KEYFRAMES,
      '-c:a', 'aac', '-b:a', '128k', '-ac', '2',
      '-movflags', '+faststart', '-f', 'mp4', '/out/job1/.tmp/720p.mp4',
      // 480p
      '-map', '[v1]', '-map', '0:a:0',
      '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'high',
      '-b:v', '1500k', '-maxrate', '1500k', '-bufsize', '3000k', ...KEYFRAMES,
      '-c:a', 'aac', '-b:a', '128k', '-ac', '2',
      '-movflags', '+faststart', '-f', 'mp4', '/out/job1/.tmp/480p.mp4',
      // 360p
      '-map', '[v2]', '-map', '0:a:0',
      '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'high',
      '-b:v', '800k', '-maxrate', '800k', '-bufsize', '1600k', ...KEYFRAMES,
      '-c:a', 'aac', '-b:a', '96k', '-ac', '2',
      '-movflags', '+faststart', '-f', 'mp4', '/out/job1/.tmp/360p.mp4',
      // webm_720p
      '-map', '[v3]', '-map', '0:a:0',
      '-c:v', 'libvpx-vp9', '-b:v', '2000k', '-deadline', 'good', '-cpu-used', '5', '-row-mt', '1', ...KEYFRAMES,
      '-c:a', 'libopus', '-b:a', '96k', '-ac', '2',
      '-f', 'webm', '/out/job1/.tmp/webm_720p.webm',
    ])
    expect(renditions?.outputs).toEqual([
      { profile: '720p', path: '/out/job1/.tmp/720p.mp4' },
      { profile: '480p', path: '/out/job1/.tmp/480p.mp4' },
      { profile: '360p', path: '/out/job1/.tmp/360p.mp4' },
      { profile: 'webm_720p', path: '/out/job1/.tmp/webm_720p.webm' },
    ])
  })

  it('makes the thumbnail in its own run by a fast seek a quarter in, letterboxed to 320x180', () => {
    const runs = buildArgs(paths, PROFILES, hd)
    expect(runs).toHaveLength(2)
    // biome-ignore format: flag and value on one line
    expect(runs[1]).toEqual({
      args: [
        ...COMMON,
        '-ss', '2.500', '-i', '/up/job1',
        '-map', '0:v:0', '-frames:v', '1',
        '-vf', 'scale=320:180:force_original_aspect_ratio=decrease,pad=320:180:(ow-iw)/2:(oh-ih)/2',
        '-q:v', '3', '-update', '1', '-f', 'image2', '/out/job1/.tmp/thumbnail.jpg',
      ],
      outputs: [{ profile: 'thumbnail', path: '/out/job1/.tmp/thumbnail.jpg' }],
    })
  })

  it('writes no audio when the input has none', () => {
    const profile = PROFILES.find((p) => p.name === '360p') as Profile
    const [run] = buildArgs(paths, [profile], { ...hd, hasAudio: false })
    // biome-ignore format: flag and value on one line
    expect(run?.args).toEqual([
      ...COMMON,
      '-i', '/up/job1',
      '-filter_complex', '[0:v:0]split=1[s0];[s0]scale=-2:360,format=yuv420p[v0]',
      '-map', '[v0]',
      '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'high',
      '-b:v', '800k', '-maxrate', '800k', '-bufsize', '1600k', ...KEYFRAMES,
      '-an',
      '-movflags', '+faststart', '-f', 'mp4', '/out/job1/.tmp/360p.mp4',
    ])
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
    const [run] = buildArgs(paths, [...PROFILES, custom], hd)
    const graph = run?.args[run.args.indexOf('-filter_complex') + 1]
    expect(graph).toMatch(/^\[0:v:0\]split=5\[s0\]\[s1\]\[s2\]\[s3\]\[s4\];/)
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
