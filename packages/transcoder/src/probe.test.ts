import { PermanentJobError } from '@vpp/shared'
import { describe, expect, it } from 'vitest'
import {
  checkFirstLook,
  checkInput,
  type FfprobeJson,
  firstLookArgs,
  longerThanClaimed,
  parseProbe,
  probeArgs,
} from './probe.ts'

describe('parseProbe', () => {
  it('reads size, duration, codec, pixel format, frame rate and audio presence', () => {
    const probe = parseProbe({
      streams: [
        {
          codec_type: 'video',
          codec_name: 'h264',
          width: 1920,
          height: 1080,
          pix_fmt: 'yuv420p10le',
          r_frame_rate: '30000/1001',
          avg_frame_rate: '30000/1001',
        },
        { codec_type: 'audio', codec_name: 'aac' },
      ],
      format: { duration: '12.345000', format_name: 'mov,mp4,m4a,3gp,3g2,mj2' },
    })
    expect(probe).toEqual({
      width: 1920,
      height: 1080,
      rotation: 0,
      duration: 12.345,
      videoCodec: 'h264',
      pixFmt: 'yuv420p10le',
      frameRate: 30000 / 1001,
      variableFrameRate: false,
      hasAudio: true,
      audioCodec: 'aac',
      demuxer: 'mov',
      formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
      streams: 2,
      videoIndex: 0,
    })
  })

  it('swaps width and height for a video rotated a quarter turn (portrait phone video)', () => {
    const stream = { codec_type: 'video', codec_name: 'h264', width: 1920, height: 1080 }
    const matrix = parseProbe({
      streams: [{ ...stream, side_data_list: [{ side_data_type: 'Display Matrix', rotation: -90 }] }],
    })
    expect(matrix).toMatchObject({ width: 1080, height: 1920, rotation: 90 })
    const tag = parseProbe({ streams: [{ ...stream, tags: { rotate: '270' } }] })
    expect(tag).toMatchObject({ width: 1080, height: 1920, rotation: 270 })
    const upsideDown = parseProbe({
      streams: [{ ...stream, side_data_list: [{ side_data_type: 'Display Matrix', rotation: 180 }] }],
    })
    expect(upsideDown).toMatchObject({ width: 1920, height: 1080, rotation: 180 })
  })

  it('tells a variable frame rate from a constant one', () => {
    const stream = { codec_type: 'video', codec_name: 'h264', width: 2, height: 2 }
    expect(
      parseProbe({ streams: [{ ...stream, r_frame_rate: '30/1', avg_frame_rate: '2871/97' }] }),
    ).toMatchObject({
      variableFrameRate: true,
    })
    expect(
      parseProbe({ streams: [{ ...stream, r_frame_rate: '25/1', avg_frame_rate: '25/1' }] })
        .variableFrameRate,
    ).toBe(false)
    expect(
      parseProbe({ streams: [{ ...stream, r_frame_rate: '0/0', avg_frame_rate: '0/0' }] }),
    ).toMatchObject({
      frameRate: null,
      variableFrameRate: false,
    })
  })

  it('falls back to the stream duration and to null when neither says', () => {
    expect(
      parseProbe({
        streams: [{ codec_type: 'video', codec_name: 'vp9', width: 2, height: 2, duration: '3.5' }],
      }).duration,
    ).toBe(3.5)
    expect(
      parseProbe({
        streams: [{ codec_type: 'video', codec_name: 'vp9', width: 2, height: 2 }],
        format: { duration: 'N/A' },
      }).duration,
    ).toBe(null)
  })

  it('describes the first video stream that is not cover art, and names its index for ffmpeg', () => {
    const probe = parseProbe({
      streams: [
        {
          index: 0,
          codec_type: 'video',
          codec_name: 'mjpeg',
          width: 64,
          height: 64,
          disposition: { attached_pic: 1 },
        },
        { index: 1, codec_type: 'video', codec_name: 'h264', width: 320, height: 240 },
        { index: 2, codec_type: 'audio', codec_name: 'aac' },
      ],
      format: { duration: '2', format_name: 'mov,mp4,m4a,3gp,3g2,mj2' },
    })
    expect(probe).toMatchObject({ width: 320, height: 240, videoCodec: 'h264', videoIndex: 1, streams: 3 })
  })

  it('fails permanently when there is no video stream, cover art included', () => {
    const audioOnly = () => parseProbe({ streams: [{ codec_type: 'audio', codec_name: 'mp3' }] })
    expect(audioOnly).toThrow(PermanentJobError)
    expect(audioOnly).toThrow('Input has no video stream')
    const coverArt = () =>
      parseProbe({
        streams: [
          { codec_type: 'audio', codec_name: 'mp3' },
          {
            codec_type: 'video',
            codec_name: 'mjpeg',
            width: 500,
            height: 500,
            disposition: { attached_pic: 1 },
          },
        ],
      })
    expect(coverArt).toThrow('Input has no video stream')
    expect(() => parseProbe({})).toThrow('Input has no video stream')
  })

  it('fails permanently on a video stream ffmpeg has no decoder for', () => {
    const unknown = () => parseProbe({ streams: [{ codec_type: 'video', width: 640, height: 480 }] })
    expect(unknown).toThrow(PermanentJobError)
    expect(unknown).toThrow('Input video codec is not supported')
  })
})

describe('checkInput', () => {
  const limits = { maxDurationSeconds: 60, maxPixels: 1920 * 1080, maxStreams: 4 }
  const ok = parseProbe({
    streams: [{ codec_type: 'video', codec_name: 'h264', width: 1920, height: 1080 }],
    format: { duration: '60', format_name: 'matroska,webm' },
  })

  it('passes an allowed container within every limit (limits inclusive)', () => {
    expect(ok.demuxer).toBe('matroska')
    expect(() => checkInput(ok, limits)).not.toThrow()
  })

  it('refuses other containers and each limit with a permanent error naming it', () => {
    const cases: Array<[Partial<typeof ok>, string, string]> = [
      [{ demuxer: null, formatName: 'hls' }, 'unsupported_container', 'Input container hls is not accepted'],
      [{ streams: 5 }, 'too_many_streams', 'Input has 5 streams; at most 4 are accepted (MAX_STREAMS)'],
      [{ width: 1920, height: 1081 }, 'resolution_too_large', 'Input is 1920x1081 (2075520 pixels)'],
      [
        { duration: 61 },
        'duration_too_long',
        'Input is 61s long; at most 60s is accepted (MAX_DURATION_SECONDS)',
      ],
    ]
    for (const [change, code, message] of cases) {
      const check = () => checkInput({ ...ok, ...change }, limits)
      expect(check, code).toThrow(PermanentJobError)
      expect(check, code).toThrow(
        expect.objectContaining({ code, message: expect.stringContaining(message) }),
      )
    }
  })
})

describe('the two looks at an input', () => {
  const CONFINED = [
    '-v',
    'error',
    '-protocol_whitelist',
    'file',
    '-format_whitelist',
    'mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi',
    '-enable_drefs',
    '0',
  ]

  it('first reads only the container headers: no frame decoded', () => {
    expect(firstLookArgs('/up/job1')).toEqual([
      ...CONFINED,
      '-nofind_stream_info',
      '-print_format',
      'json',
      '-show_entries',
      'format=nb_streams,format_name:stream=index,codec_type,width,height',
      'file:/up/job1',
    ])
  })

  it('then probes with reading and decoding bounded: probe size, analysis time, pixels a frame', () => {
    expect(probeArgs('/up/job1', 33177600)).toEqual([
      ...CONFINED,
      '-probesize',
      '5000000',
      '-analyzeduration',
      '5000000',
      '-max_pixels',
      '33177600',
      '-print_format',
      'json',
      '-show_format',
      '-show_streams',
      'file:/up/job1',
    ])
  })
})

describe('checkFirstLook', () => {
  const limits = { maxPixels: 1920 * 1080, maxStreams: 4 }
  const video = (width: number, height: number) => ({ codec_type: 'video', width, height })

  it('passes a container within the limits (limits inclusive)', () => {
    const json = { streams: [video(1920, 1080), { codec_type: 'audio' }], format: { nb_streams: 2 } }
    expect(() => checkFirstLook(json, limits)).not.toThrow()
  })

  it('refuses too many streams, counted by the container, and any video stream over MAX_PIXELS', () => {
    const cases: Array<[FfprobeJson, string, string]> = [
      [
        { streams: [video(64, 64)], format: { nb_streams: 5 } },
        'too_many_streams',
        'Input has 5 streams; at most 4 are accepted (MAX_STREAMS)',
      ],
      [
        { streams: [video(64, 64), video(16000, 16000)], format: { nb_streams: 2 } },
        'resolution_too_large',
        'Input is 16000x16000 (256000000 pixels); at most 2073600 are accepted (MAX_PIXELS)',
      ],
    ]
    for (const [json, code, message] of cases) {
      const check = () => checkFirstLook(json, limits)
      expect(check, code).toThrow(PermanentJobError)
      expect(check, code).toThrow(expect.objectContaining({ code, message }))
    }
  })
})

describe('longerThanClaimed', () => {
  it('says the limit and what the container claimed', () => {
    expect(longerThanClaimed(10.2, 3600)).toMatchObject({
      code: 'duration_too_long',
      message:
        'Input runs past 3600s, though its container says 10s; at most 3600s is accepted (MAX_DURATION_SECONDS)',
    })
    expect(longerThanClaimed(null, 60).message).toBe(
      'Input runs past 60s, though its container does not say its length; at most 60s is accepted (MAX_DURATION_SECONDS)',
    )
  })
})
