/** Pure: one encoder's output written both as an MP4 and as an HLS rung, through the tee muxer. */

/**
 * An MP4 (`mp4Options`: the tee muxer's options for it) and an HLS rung of fMP4 segments from one
 * encoder, through the tee muxer: the init file named relative to the playlist, every path escaped.
 */
export function hlsTee(
  mp4Options: string,
  path: string,
  hls: { segmentSeconds: number; init: string; segments: string; playlist: string; live?: boolean },
): string[] {
  const hlsOptions = [
    'f=hls',
    `hls_time=${hls.segmentSeconds}`,
    // An event playlist is rewritten at each segment (a VOD one only at the end): `live` for a
    // run whose segments are published while it runs.
    `hls_playlist_type=${hls.live ? 'event' : 'vod'}`,
    'hls_segment_type=fmp4',
    `hls_fmp4_init_filename=${teeEscape(hls.init)}`,
    `hls_segment_filename=${teeEscape(hls.segments)}`,
    'hls_flags=independent_segments',
  ]
  return [
    '-f',
    'tee',
    `[${mp4Options}]${teeEscape(path)}|[${hlsOptions.join(':')}]${teeEscape(hls.playlist)}`,
  ]
}

/** A path inside a tee output list: its separators (`:|[]`) and backslashes escaped. */
export function teeEscape(path: string): string {
  return path.replace(/[\\:|[\]]/g, (c) => `\\${c}`)
}
