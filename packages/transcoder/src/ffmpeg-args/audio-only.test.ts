import { type AudioProfile, madeByDefault, PROFILE_NAMES, PROFILES, type Profile } from '@vpp/shared'
import { describe, expect, it } from 'vitest'
import { buildArgs } from '../build-args.ts'
import { encodePlan } from '../chunks/encode-plan.ts'
import { masterPlaylist } from '../packaging.ts'
import type { Probe } from '../probe.ts'
import { audioOnlyArgs, audioRemuxArgs } from './audio-only.ts'
import { encodersFor } from './codecs.ts'

const probe: Probe = {
  width: 640,
  height: 360,
  rotation: 0,
  duration: 10,
  videoCodec: 'h264',
  pixFmt: 'yuv420p',
  frameRate: 24,
  variableFrameRate: false,
  hasAudio: true,
  demuxer: 'mov',
  formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
  streams: 2,
  videoIndex: 0,
}
const profile = (name: string) => PROFILES.find((p) => p.name === name) as Profile
const AUDIO = profile('audio') as AudioProfile
// biome-ignore format: flag and value on one line
const START = [
  '-hide_banner', '-nostdin', '-y', '-loglevel', 'error', '-progress', 'pipe:1', '-stats_period', '0.5',
  '-protocol_whitelist', 'file', '-format_whitelist', 'mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi',
  '-f', 'mov', '-enable_drefs', '0', '-i', 'file:/up/job1',
]
const AAC_128 = ['-vn', '-c:a', 'aac', '-b:a', '128k', '-ac', '2']
const FAST_START = ['-movflags', '+faststart', '-f', 'mp4', '/out/audio.m4a']
/** Fragments of 4 s (the HLS segment), never one a keyframe: with audio alone each packet is one. */
// biome-ignore format: flag and value on one line
const FRAGMENTED = [
  '-movflags', '+delay_moov+default_base_moof+global_sidx', '-frag_duration', '4000000', '-f', 'mp4', '/out/audio.m4a',
]
const paths = { input: '/up/job1', outDir: '/out' }

describe('the audio profile', () => {
  it('is in the table as AAC 128k in M4A, made only when a job asks for it', () => {
    expect(AUDIO).toEqual({
      name: 'audio',
      kind: 'audio',
      codec: 'aac',
      audioBitrateKbps: 128,
      container: 'm4a',
      onRequest: true,
    })
    expect(PROFILE_NAMES).toContain('audio')
    expect(madeByDefault(PROFILES).map((p) => p.name)).toEqual(
      PROFILES.map((p) => p.name).filter((name) => name !== 'audio'),
    )
    expect(encodersFor([AUDIO])).toEqual(['aac'])
  })

  it('is one output of the single run: the first audio track, AAC stereo, a faststart M4A', () => {
    expect(audioOnlyArgs('0:a:0', AUDIO, '/out/audio.m4a')).toEqual([
      '-map',
      '0:a:0',
      ...AAC_128,
      ...FAST_START,
    ])
    const { runs, skipped } = buildArgs(paths, [AUDIO], probe)
    expect(skipped).toEqual([])
    // No video: no filter graph, no decode of the video.
    expect(runs[0]?.args).toEqual([...START, '-map', '0:a:0', ...AAC_128, ...FAST_START])
    expect(runs[0]?.outputs).toEqual([
      { profile: 'audio', path: '/out/audio.m4a', media: { width: null, height: null, codec: 'aac' } },
    ])
  })

  it('is a fragmented M4A for the audio-only variant when the job has HLS, normalised with the rest', () => {
    const loudness = { input_i: -30, input_tp: -20, input_lra: 3, input_thresh: -40, target_offset: 0 }
    const { runs, hls } = buildArgs(paths, [profile('360p'), profile('hls'), AUDIO], probe, {
      threads: 0,
      hlsSegmentSeconds: 4,
      loudness,
    })
    expect(hls?.audio).toEqual({ profile: 'audio', playlist: 'audio.m3u8' })
    const args = runs[0]?.args ?? []
    expect(args[args.indexOf('-filter_complex') + 1]).toMatch(
      /;\[0:a:0\]loudnorm=.*,asplit=2\[anorm0\]\[anorm1\]$/,
    )
    expect(args.slice(args.indexOf('/out/360p.mp4') + 1)).toEqual([
      '-map',
      '[anorm1]',
      ...AAC_128,
      ...FRAGMENTED,
    ])
  })

  it('is skipped, with the reason, for a source without audio', () => {
    const silent = { ...probe, hasAudio: false }
    expect(buildArgs(paths, [profile('360p'), AUDIO], silent).skipped).toEqual([
      { profile: 'audio', reason: 'the source has no audio' },
    ])
    const plan = encodePlan(
      silent,
      [profile('360p'), AUDIO],
      { keyframes: [0, 2, 4, 6, 8], duration: 10, chunkSeconds: 4 },
      { hlsSegmentSeconds: 4, lease: 1 },
    )
    expect(plan.skipped).toEqual([{ profile: 'audio', reason: 'the source has no audio' }])
    expect(plan.audioOnly).toBeUndefined()
  })

  it('shares the chunked audio item’s AAC encode of its bitrate, then is copied into its M4A', () => {
    const cut = { keyframes: [0, 2, 4, 6, 8], duration: 10, chunkSeconds: 4 }
    const options = { hlsSegmentSeconds: 4, lease: 1 }
    // 720p's AAC is 128k too: one encode for both.
    const shared = encodePlan({ ...probe, width: 1280, height: 720 }, [profile('720p'), AUDIO], cut, options)
    expect(shared.audio).toEqual([{ codec: 'aac', kbps: 128 }])
    expect(shared.audioOnly).toEqual({ profile: 'audio', kbps: 128 })
    // 360p's is 96k: one more.
    expect(encodePlan(probe, [profile('360p'), AUDIO], cut, options).audio).toEqual([
      { codec: 'aac', kbps: 96 },
      { codec: 'aac', kbps: 128 },
    ])
    // biome-ignore format: flag and value on one line
    expect(audioRemuxArgs('/w/audio-l1-aac-128.m4a', '/out/audio.m4a', 4)).toEqual([
      '-hide_banner', '-nostdin', '-y', '-loglevel', 'error',
      '-protocol_whitelist', 'file', '-f', 'mp4', '-i', 'file:/w/audio-l1-aac-128.m4a',
      '-map', '0:a:0', '-c', 'copy', ...FRAGMENTED,
    ])
    expect(audioRemuxArgs('/w/a.m4a', '/out/audio.m4a').slice(-5)).toEqual(FAST_START)
  })

  it('is the master playlist’s last variant, audio only', () => {
    const rung = {
      playlist: '360p.m3u8',
      bandwidth: 950_000,
      averageBandwidth: 880_000,
      width: 640,
      height: 360,
      frameRate: null,
      codecs: 'avc1.64001e,mp4a.40.2',
    }
    const only = { playlist: 'audio.m3u8', bandwidth: 140_000, averageBandwidth: 131_000 }
    expect(masterPlaylist([rung], undefined, only)).toBe(
      [
        '#EXTM3U',
        '#EXT-X-VERSION:7',
        '#EXT-X-INDEPENDENT-SEGMENTS',
        '#EXT-X-STREAM-INF:BANDWIDTH=950000,AVERAGE-BANDWIDTH=880000,RESOLUTION=640x360,CODECS="avc1.64001e,mp4a.40.2"',
        '360p.m3u8',
        '#EXT-X-STREAM-INF:BANDWIDTH=140000,AVERAGE-BANDWIDTH=131000,CODECS="mp4a.40.2"',
        'audio.m3u8',
        '',
      ].join('\n'),
    )
  })
})
