import { describe, expect, it } from 'vitest'
import { animatedRender, renderName, renderSource, thumbnailRender, wantsThumbnailRender } from './params.ts'

const SOURCE = { name: '720p.mp4', width: 1280, duration: 10 }

/** The AppError a check throws: its status and message. */
function refusal(check: () => unknown): { status: number; code: string; message: string } {
  try {
    check()
  } catch (error) {
    const { status, code, message } = error as { status: number; code: string; message: string }
    return { status, code, message }
  }
  throw new Error('expected a refusal')
}

describe('render parameters', () => {
  it('picks the widest H.264 MP4 rendition', () => {
    const output = (profile: string, width: number, codec: string, ext: string) => ({
      profile,
      path: `/data/output/j/${profile}.${ext}`,
      width,
      height: width / 2,
      duration: 10,
      size_bytes: 1,
      bitrate: 1,
      codec,
    })
    const job = {
      outputs: [
        output('480p', 854, 'h264', 'mp4'),
        output('webm_720p', 1280, 'vp9', 'webm'),
        output('720p', 1280, 'h264', 'mp4'),
        { ...output('thumbnail', 1280, 'mjpeg', 'jpg'), duration: null },
      ],
    }
    expect(renderSource(job)).toEqual({ name: '720p.mp4', width: 1280, duration: 10 })
    expect(renderSource({ outputs: job.outputs.filter((o) => o.codec !== 'h264') })).toBeNull()
  })

  it('renders a thumbnail only when time or width is asked for', () => {
    expect(wantsThumbnailRender({})).toBe(false)
    expect(wantsThumbnailRender({ time: '1' })).toBe(true)
    expect(wantsThumbnailRender({ width: '320' })).toBe(true)
  })

  it('reads a thumbnail request, with its defaults, to the millisecond', () => {
    expect(thumbnailRender({ time: '12.5', width: '640' }, { ...SOURCE, duration: 30 })).toEqual({
      kind: 'thumbnail',
      timeMs: 12_500,
      width: 640,
    })
    expect(thumbnailRender({ time: '1.23456' }, SOURCE)).toEqual({
      kind: 'thumbnail',
      timeMs: 1234,
      width: 1280,
    })
    expect(thumbnailRender({ width: '320' }, SOURCE)).toEqual({ kind: 'thumbnail', timeMs: 2500, width: 320 })
    expect(thumbnailRender({ time: '9.958' }, SOURCE).timeMs).toBe(9958)
  })

  it('refuses thumbnails out of range, odd, too wide or not numbers', () => {
    expect(refusal(() => thumbnailRender({ time: '9.96' }, SOURCE))).toEqual({
      status: 400,
      code: 'bad_request',
      message: 'time must be at most 9.958 s: the video is 10 s long',
    })
    expect(refusal(() => thumbnailRender({ time: '-1' }, SOURCE)).message).toBe(
      'time must be a number of seconds, such as 12.5',
    )
    expect(refusal(() => thumbnailRender({ time: '1e3' }, SOURCE)).status).toBe(400)
    expect(refusal(() => thumbnailRender({ width: '641' }, SOURCE)).message).toBe(
      'width must be even (641 is not)',
    )
    expect(refusal(() => thumbnailRender({ width: '1282' }, SOURCE)).message).toBe(
      'width must be a whole number from 16 to 1280',
    )
    expect(refusal(() => thumbnailRender({ width: '8' }, SOURCE)).status).toBe(400)
    expect(refusal(() => thumbnailRender({ width: '99999999' }, { ...SOURCE, width: 3840 })).message).toBe(
      'width must be a whole number from 16 to 1920',
    )
  })

  it('reads an animated preview request, with its defaults', () => {
    expect(animatedRender({}, SOURCE)).toEqual({
      kind: 'animated',
      startMs: 0,
      endMs: 5000,
      fps: 15,
      width: 320,
    })
    expect(animatedRender({}, { ...SOURCE, duration: 3.2, width: 240 })).toEqual({
      kind: 'animated',
      startMs: 0,
      endMs: 3200,
      fps: 15,
      width: 240,
    })
    expect(animatedRender({ start: '8', fps: '30', width: '640' }, SOURCE)).toEqual({
      kind: 'animated',
      startMs: 8000,
      endMs: 10_000,
      fps: 30,
      width: 640,
    })
  })

  it('refuses previews too long, past the end, too fast or too wide', () => {
    const long = { ...SOURCE, duration: 60 }
    expect(refusal(() => animatedRender({ start: '1', end: '11.001' }, long)).message).toBe(
      'an animated preview is at most 10 s long (end - start)',
    )
    expect(refusal(() => animatedRender({ end: '10.5' }, SOURCE)).message).toBe(
      'end must be at most 10 s: the video is 10 s long',
    )
    expect(refusal(() => animatedRender({ start: '4', end: '3' }, SOURCE)).message).toBe(
      'end must be after start',
    )
    expect(refusal(() => animatedRender({ fps: '31' }, SOURCE)).message).toBe(
      'fps must be a whole number from 1 to 30',
    )
    expect(refusal(() => animatedRender({ width: '642' }, long)).message).toBe(
      'width must be a whole number from 16 to 640',
    )
  })

  it('names each distinct render by its parameters', () => {
    expect(renderName({ kind: 'thumbnail', timeMs: 12_500, width: 640 })).toBe('thumb-t12500-w640.jpg')
    expect(renderName({ kind: 'animated', startMs: 0, endMs: 5000, fps: 15, width: 320 })).toBe(
      'anim-s0-e5000-f15-w320.webp',
    )
  })
})
