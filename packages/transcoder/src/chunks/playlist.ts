/**
 * Pure: an HLS rung's media playlist from the segments of the chunks recorded so far. While the
 * job runs it is an EVENT playlist that only grows (players poll it and keep playing); with the
 * last chunk it ends (`#EXT-X-ENDLIST`) and becomes VOD.
 */

/** A segment as playlistSegments reads it from a chunk's own playlist. */
export interface Segment {
  /** Relative to the playlist. */
  uri: string
  seconds: number
  /** Part of the file at `uri` (`#EXT-X-BYTERANGE`): a segment of an MP4 download. */
  range?: { offset: number; length: number }
}

export interface MediaPlaylist {
  /** The init segment every segment plays under (the first chunk's: see shiftSegment). */
  init: string
  /** The init segment as part of the file at `init` (the `ftyp` and `moov` of an MP4). */
  initRange?: { offset: number; length: number }
  segments: readonly Segment[]
  /** The last chunk is in: VOD, ended. */
  ended: boolean
  /**
   * EXT-X-TARGETDURATION of a growing playlist, which may not change while it grows: the longest a
   * segment can be (HLS_SEGMENT_SECONDS plus the 2 s between keyframes). An ended one says its
   * longest segment.
   */
  maxSegmentSeconds: number
}

/** `#EXTINF` and the other tags of one segment list, as the HLS muxer writes them. */
export function mediaPlaylist(playlist: MediaPlaylist): string {
  const longest = Math.max(0, ...playlist.segments.map((s) => s.seconds))
  const target = playlist.ended ? Math.max(1, Math.round(longest)) : playlist.maxSegmentSeconds
  return [
    '#EXTM3U',
    '#EXT-X-VERSION:7',
    `#EXT-X-TARGETDURATION:${target}`,
    '#EXT-X-MEDIA-SEQUENCE:0',
    `#EXT-X-PLAYLIST-TYPE:${playlist.ended ? 'VOD' : 'EVENT'}`,
    '#EXT-X-INDEPENDENT-SEGMENTS',
    `#EXT-X-MAP:URI="${playlist.init}"${playlist.initRange ? `,BYTERANGE="${byteRange(playlist.initRange)}"` : ''}`,
    ...playlist.segments.flatMap((segment) => [
      `#EXTINF:${segment.seconds.toFixed(6)},`,
      ...(segment.range ? [`#EXT-X-BYTERANGE:${byteRange(segment.range)}`] : []),
      segment.uri,
    ]),
    ...(playlist.ended ? ['#EXT-X-ENDLIST'] : []),
    '',
  ].join('\n')
}

/** `length@offset`, as EXT-X-BYTERANGE and EXT-X-MAP's BYTERANGE write a range. */
const byteRange = (range: { offset: number; length: number }) => `${range.length}@${range.offset}`
