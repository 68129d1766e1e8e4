import { PermanentJobError } from '@vpp/shared'
import { describe, expect, it } from 'vitest'
import { parseProbe } from './probe.ts'

describe('parseProbe', () => {
  it('reads size, duration, codec and audio presence', () => {
    const probe = parseProbe({
      streams: [
        { codec_type: 'video', codec_name: 'h264', width: 1920, height: 1080 },
        { codec_type: 'audio', codec_name: 'aac' },
      ],
      format: { duration: '12.345000' },
    })
    expect(probe).toEqual({ width: 1920, height: 1080, duration: 12.345, videoCodec: 'h264', hasAudio: true })
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
