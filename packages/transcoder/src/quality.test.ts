import { describe, expect, it } from 'vitest'
import type { Probe } from './probe.ts'
import { parseSsim, parseTimeline, sampleTimes, ssimArgs, timelineArgs } from './quality.ts'

const hd: Probe = {
  width: 1920,
  height: 1080,
  rotation: 0,
  duration: 8,
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
const CONFINED = ['-protocol_whitelist', 'file']
const WHITELIST = ['-format_whitelist', 'mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi']
/** Keyframes every 2 s, as every rendition has them. */
const everyTwo = (seconds: number) => Array.from({ length: Math.ceil(seconds / 2) }, (_, i) => i * 2)

describe('timelineArgs', () => {
  it('lists the source as the transcoder reads it: one local file, its demuxer, no data references', () => {
    expect(timelineArgs('/up/job1', { ...hd, videoIndex: 1 })).toEqual([
      ...['-v', 'error', ...CONFINED, ...WHITELIST, '-f', 'mov', '-enable_drefs', '0'],
      ...['-select_streams', '1'],
      ...['-show_entries', 'packet=pts_time,flags:stream=start_time:format=start_time'],
      ...['-of', 'csv', 'file:/up/job1'],
    ])
  })

  it('lists a rendition, one of ours, by its first video stream', () => {
    expect(timelineArgs('/out/720p.mp4')).toEqual([
      ...['-v', 'error', ...CONFINED, '-select_streams', 'v:0'],
      ...['-show_entries', 'packet=pts_time,flags:stream=start_time:format=start_time'],
      ...['-of', 'csv', 'file:/out/720p.mp4'],
    ])
  })
})

describe('parseTimeline', () => {
  it('counts keyframes from the video’s first frame, and where it starts from the file’s start', () => {
    // A WebM: the Opus pre-skip puts the file's start 7 ms before zero.
    const webm =
      'packet,0.007000,K_\npacket,0.040000,__\npacket,2.007000,K_\nstream,0.007000\nformat,-0.007000\n'
    expect(parseTimeline(webm)).toEqual({ start: 0.014, keyframes: [0, 2] })
    // A fragmented MP4 without an edit list: the video starts after the B-frame delay.
    const fragmented = 'packet,0.133333,__\npacket,0.066667,K_\nstream,0.066667\nformat,0.000000\n'
    expect(parseTimeline(fragmented)).toEqual({ start: 0.066667, keyframes: [0] })
  })

  it('falls back on the first packet when no start is said, and skips what is no time', () => {
    expect(parseTimeline('packet,N/A,K_\npacket,1.5,K_\npacket,3.5,K_\nstream,N/A\nformat,N/A\n')).toEqual({
      start: 0,
      keyframes: [0, 2],
    })
    expect(parseTimeline('')).toEqual({ start: 0, keyframes: [] })
  })
})

describe('sampleTimes', () => {
  it('takes the frame after a source keyframe where the renditions have settled (the 8 s noisy clip)', () => {
    // 240 frames: one sample. The source's keyframe at 0 is a rendition keyframe too; 3.067 is
    // nearest the middle. Half a frame before the frame after it (3.1 s).
    expect(
      sampleTimes({ duration: 8, frameRate: 30, source: [0, 3.066667, 5.9], rendition: everyTwo(8) }),
    ).toEqual([3.083334])
  })

  it('spreads one sample in 400 frames over the video, each nearest its stretch’s middle', () => {
    // A phone's 1 s GOP: the source keyframes at odd seconds are mid-GOP for the renditions.
    const source = Array.from({ length: 60 }, (_, i) => i)
    expect(sampleTimes({ duration: 60, frameRate: 30, source, rendition: everyTwo(60) })).toEqual([
      7.016667, 23.016667, 37.016667, 53.016667,
    ])
  })

  it('takes a rendition GOP’s middle when the source’s keyframes are the renditions’ own', () => {
    const keys = everyTwo(12)
    expect(sampleTimes({ duration: 12, frameRate: 30, source: keys, rendition: keys })).toEqual([4.983333])
  })

  it('decodes at most a second of the source before a sample: sparse keyframes, fewer samples', () => {
    const rendition = everyTwo(60)
    // A keyframe every 10 s: each stretch of 15 s takes the GOP middle a second after one.
    expect(sampleTimes({ duration: 60, frameRate: 30, source: [0, 10, 20, 30, 40, 50], rendition })).toEqual([
      10.983333, 20.983333, 40.983333, 50.983333,
    ])
    // One keyframe in all: one sample, at the start.
    expect(sampleTimes({ duration: 60, frameRate: 30, source: [0], rendition })).toEqual([0.983333])
  })

  it('takes one sample of the shortest video, and guesses 25 fps when the rate is unknown', () => {
    expect(sampleTimes({ duration: 0.3, frameRate: 30, source: [0], rendition: [0] })).toEqual([0.15])
    expect(sampleTimes({ duration: 0.04, frameRate: 25, source: [0], rendition: [0] })).toEqual([0])
    expect(sampleTimes({ duration: 4, frameRate: 0, source: [0], rendition: [0, 2] })).toEqual([0.98])
  })
})

describe('ssimArgs', () => {
  const renditions = [
    { profile: '720p', path: '/w/out/720p.mp4', width: 1280, height: 720, start: 0 },
    { profile: 'webm_720p', path: '/w/out/webm_720p.webm', width: 1280, height: 720, start: 0.014 },
  ]

  it('seeks every file to the sample on its own timeline and compares 4 frames of each rendition', () => {
    const args = ssimArgs(
      { path: '/up/job1', probe: hd, start: 0 },
      renditions,
      { at: 3.083334, frameRate: 30 },
      {
        maxPixels: 8_294_400,
        maxDurationSeconds: 3600,
      },
    )
    // biome-ignore format: one input a line
    expect(args).toEqual([
      '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'info',
      '-threads', '1', '-ss', '3.083334', ...CONFINED, ...WHITELIST, '-f', 'mov', '-enable_drefs', '0',
      '-max_pixels', '8294400', '-t', '3601', '-i', 'file:/up/job1',
      '-threads', '1', '-ss', '3.083334', ...CONFINED, '-f', 'mov', '-enable_drefs', '0', '-i', 'file:/w/out/720p.mp4',
      '-threads', '1', '-ss', '3.097334', ...CONFINED, '-f', 'matroska', '-i', 'file:/w/out/webm_720p.webm',
      '-filter_complex',
      '[0:0]trim=end=0.15,settb=AVTB,split=2[s0][s1];' +
        '[s0]scale=1280:720:flags=bicubic[ref0];' +
        '[1:v:0]trim=end_frame=4,settb=AVTB,setpts=PTS+0.016667/TB[rend0];' +
        '[rend0][ref0]ssim@r0[o0];' +
        '[s1]scale=1280:720:flags=bicubic[ref1];' +
        '[2:v:0]trim=end_frame=4,settb=AVTB,setpts=PTS+0.016667/TB[rend1];' +
        '[rend1][ref1]ssim@r1[o1]',
      '-map', '[o0]', '-f', 'null', '-',
      '-map', '[o1]', '-f', 'null', '-',
    ])
  })

  it('reads the video stream ffprobe described, past cover art, whatever the source’s container', () => {
    const mkv: Probe = { ...hd, demuxer: 'matroska', videoIndex: 2 }
    const args = ssimArgs(
      { path: '/up/job1', probe: mkv, start: 0.033 },
      renditions.slice(0, 1),
      { at: 1, frameRate: 25 },
      {
        maxPixels: 100,
        maxDurationSeconds: 10,
      },
    )
    expect(args.slice(5, 21)).toEqual([
      ...['-threads', '1', '-ss', '1.033', ...CONFINED, ...WHITELIST, '-f', 'matroska'],
      ...['-max_pixels', '100', '-t', '11', '-i', 'file:/up/job1'],
    ])
    expect(args[args.indexOf('-filter_complex') + 1]).toMatch(
      /^\[0:2\]trim=end=0\.18,settb=AVTB,split=1\[s0\];/,
    )
  })
})

describe('parseSsim', () => {
  it('reads each rendition’s All by the name of its filter, whatever order ffmpeg prints them in', () => {
    const stderr = [
      'video:1kB audio:0kB subtitle:0kB other streams:0kB global headers:0kB muxing overhead: unknown',
      '[ssim@r1 @ 0x55c3305509c0] SSIM Y:0.982898 (17.669600) U:0.978599 (16.695652) V:0.979352 (16.851153) All:0.981591 (17.349609)',
      '[ssim@r0 @ 0x55c33054de80] SSIM Y:0.957639 (13.730388) U:0.954976 (13.465513) V:0.956244 (13.589585) All:0.956963 (13.661564)',
    ].join('\n')
    expect(parseSsim(stderr, 3)).toEqual([0.956963, 0.981591, null])
  })

  it('says nothing for a rendition whose line is missing or makes no sense', () => {
    expect(parseSsim('[ssim@r0 @ 0x1] SSIM Y:nan U:nan V:nan All:nan (nan)', 1)).toEqual([null])
    expect(parseSsim('[ssim@r5 @ 0x1] SSIM Y:1 U:1 V:1 All:1.000000 (inf)', 2)).toEqual([null, null])
  })
})
