import { describe, expect, it } from 'vitest'
import type { StoryboardPlan } from './ffmpeg-args/index.ts'
import {
  avcCodec,
  bandwidths,
  masterPlaylist,
  playlistSegments,
  sheetName,
  storyboardVtt,
  vttTime,
} from './packaging.ts'

describe('masterPlaylist', () => {
  it('lists one EXT-X-STREAM-INF per rung, with relative URIs', () => {
    const text = masterPlaylist([
      {
        playlist: '720p/index.m3u8',
        bandwidth: 2_900_000,
        averageBandwidth: 2_600_000,
        width: 1280,
        height: 720,
        frameRate: 30,
        codecs: 'avc1.64001f,mp4a.40.2',
      },
      {
        playlist: '360p/index.m3u8',
        bandwidth: 950_000,
        averageBandwidth: 880_000,
        width: 640,
        height: 360,
        frameRate: null,
        codecs: 'avc1.64001e',
      },
    ])
    expect(text).toBe(
      [
        '#EXTM3U',
        '#EXT-X-VERSION:7',
        '#EXT-X-INDEPENDENT-SEGMENTS',
        '#EXT-X-STREAM-INF:BANDWIDTH=2900000,AVERAGE-BANDWIDTH=2600000,RESOLUTION=1280x720,FRAME-RATE=30.000,CODECS="avc1.64001f,mp4a.40.2"',
        '720p/index.m3u8',
        '#EXT-X-STREAM-INF:BANDWIDTH=950000,AVERAGE-BANDWIDTH=880000,RESOLUTION=640x360,CODECS="avc1.64001e"',
        '360p/index.m3u8',
        '',
      ].join('\n'),
    )
  })
})

describe('avcCodec', () => {
  it('reads profile, constraint flags and level from the avcC box', () => {
    // ... size, 'avcC', configurationVersion 1, profile 0x64 (High), flags 0x00, level 0x1f (3.1)
    const init = new Uint8Array([0, 0, 0, 20, ...new TextEncoder().encode('avcC'), 1, 0x64, 0x00, 0x1f, 0xff])
    expect(avcCodec(init)).toBe('avc1.64001f')
    const baseline = new Uint8Array([...new TextEncoder().encode('xxxxavcC'), 1, 0x42, 0xc0, 0x1e])
    expect(avcCodec(baseline)).toBe('avc1.42c01e')
    expect(() => avcCodec(new Uint8Array(16))).toThrow('no avcC')
  })
})

describe('playlistSegments and bandwidths', () => {
  it('reads segment durations and gives the peak segment and average bit rates', () => {
    const playlist = [
      '#EXTM3U',
      '#EXT-X-VERSION:7',
      '#EXT-X-TARGETDURATION:4',
      '#EXT-X-MAP:URI="init.mp4"',
      '#EXTINF:4.000000,',
      'segment-000.m4s',
      '#EXTINF:2.500000,',
      'segment-001.m4s',
      '#EXT-X-ENDLIST',
    ].join('\n')
    expect(playlistSegments(playlist)).toEqual([
      { uri: 'segment-000.m4s', seconds: 4 },
      { uri: 'segment-001.m4s', seconds: 2.5 },
    ])
    expect(
      bandwidths([
        { bytes: 400_000, seconds: 4 },
        { bytes: 500_000, seconds: 2.5 },
      ]),
    ).toEqual({ peak: 1_600_000, average: 1_107_693 })
  })
})

describe('storyboardVtt', () => {
  const plan: StoryboardPlan = {
    profile: 'storyboard',
    interval: 2,
    tileWidth: 160,
    tileHeight: 90,
    columns: 2,
    rows: 1,
    tiles: 3,
    tilePattern: '/out/storyboard-tile-%05d.jpg',
    sheetPattern: '/out/storyboard-%d.jpg',
  }

  it('covers 0 to the duration back to back, each cue pointing at its tile on its sheet', () => {
    expect(storyboardVtt(plan, 5.5, sheetName('storyboard'))).toBe(
      [
        'WEBVTT',
        '',
        '00:00:00.000 --> 00:00:02.000',
        'storyboard.jpg#xywh=0,0,160,90',
        '',
        '00:00:02.000 --> 00:00:04.000',
        'storyboard.jpg#xywh=160,0,160,90',
        '',
        '00:00:04.000 --> 00:00:05.500',
        'storyboard-2.jpg#xywh=0,0,160,90',
        '',
      ].join('\n'),
    )
  })

  it('writes hours, minutes, seconds and milliseconds', () => {
    expect(vttTime(3723.4567)).toBe('01:02:03.457')
    expect(vttTime(0)).toBe('00:00:00.000')
  })
})
