import { describe, expect, it } from 'vitest'
import { mediaPlaylist } from './playlist.ts'

const segments = [
  { uri: 'c00000-a1-000.m4s', seconds: 4 },
  { uri: 'c00000-a1-001.m4s', seconds: 2.3 },
  { uri: 'c00001-a2-000.m4s', seconds: 4 },
]

describe('mediaPlaylist', () => {
  it('grows as an EVENT playlist, its target duration fixed at the longest a segment can be', () => {
    expect(mediaPlaylist({ init: 'c00000-a1-init.mp4', segments, ended: false, maxSegmentSeconds: 6 })).toBe(
      [
        '#EXTM3U',
        '#EXT-X-VERSION:7',
        '#EXT-X-TARGETDURATION:6',
        '#EXT-X-MEDIA-SEQUENCE:0',
        '#EXT-X-PLAYLIST-TYPE:EVENT',
        '#EXT-X-INDEPENDENT-SEGMENTS',
        '#EXT-X-MAP:URI="c00000-a1-init.mp4"',
        '#EXTINF:4.000000,',
        'c00000-a1-000.m4s',
        '#EXTINF:2.300000,',
        'c00000-a1-001.m4s',
        '#EXTINF:4.000000,',
        'c00001-a2-000.m4s',
        '',
      ].join('\n'),
    )
  })

  it('ends as VOD with the last chunk, its target its longest segment', () => {
    const text = mediaPlaylist({ init: 'i.mp4', segments, ended: true, maxSegmentSeconds: 6 })
    expect(text).toContain('#EXT-X-TARGETDURATION:4\n')
    expect(text).toContain('#EXT-X-PLAYLIST-TYPE:VOD\n')
    expect(text.endsWith('c00001-a2-000.m4s\n#EXT-X-ENDLIST\n')).toBe(true)
  })
})
