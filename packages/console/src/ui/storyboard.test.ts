import { describe, expect, it } from 'vitest'
import { parseStoryboard, tileAt } from './storyboard.ts'

const VTT = `WEBVTT

00:00:00.000 --> 00:00:01.000
storyboard.jpg#xywh=0,0,160,90

00:00:01.000 --> 00:00:02.500 align:start
storyboard.jpg#xywh=160,0,160,90

01:02.500 --> 01:03.000
sheet-2.jpg#xywh=0,90,160,90
`

describe('parseStoryboard', () => {
  const base = 'http://localhost:8001/media/123.abc/job-1/storyboard.vtt'

  it('reads each cue as a tile of a sheet resolved against the VTT, token and all', () => {
    expect(parseStoryboard(VTT, base)).toEqual([
      {
        start: 0,
        end: 1,
        url: 'http://localhost:8001/media/123.abc/job-1/storyboard.jpg',
        x: 0,
        y: 0,
        w: 160,
        h: 90,
      },
      {
        start: 1,
        end: 2.5,
        url: 'http://localhost:8001/media/123.abc/job-1/storyboard.jpg',
        x: 160,
        y: 0,
        w: 160,
        h: 90,
      },
      {
        start: 62.5,
        end: 63,
        url: 'http://localhost:8001/media/123.abc/job-1/sheet-2.jpg',
        x: 0,
        y: 90,
        w: 160,
        h: 90,
      },
    ])
  })

  it('skips what is not a tile cue, and CRLF files parse alike', () => {
    const text =
      'WEBVTT\r\n\r\nNOTE made by ffmpeg\r\n\r\n00:00:00.000 --> 00:00:01.000\r\nno rectangle here\r\n'
    expect(parseStoryboard(text, base)).toEqual([])
    expect(parseStoryboard(VTT.replace(/\n/g, '\r\n'), base)).toHaveLength(3)
  })
})

describe('tileAt', () => {
  const tiles = parseStoryboard(VTT, 'http://x/a.vtt')

  it('answers the cue covering the time, the last one before a gap, and none before the first', () => {
    expect(tileAt(tiles, 0.5)?.x).toBe(0)
    expect(tileAt(tiles, 1)?.x).toBe(160)
    expect(tileAt(tiles, 30)?.x).toBe(160)
    expect(tileAt(tiles, 62.7)?.y).toBe(90)
    expect(tileAt([], 1)).toBeUndefined()
    expect(tileAt(tiles, -1)).toBeUndefined()
  })
})
