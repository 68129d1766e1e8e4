/**
 * The baseline of `bench:engine`: ffmpeg command lines a person would write by hand for the same
 * outputs, never built by the project's buildArgs (so the benchmark does not measure the pipeline
 * against itself). Each flag is the pipeline's documented setting, written out here:
 *
 *   -hide_banner -nostdin -y -loglevel error      quiet, never reads stdin, overwrites
 *   -i SRC                                         the source, probed by ffmpeg itself
 *   -filter_complex "[0:v]split=N[a][b]...;        decode once, one branch per encoder
 *       [a]scale=-2:720,format=yuv420p[v720];..."  short side = the rung, even width, 4:2:0
 *   -c:v libx264 -preset veryfast -profile:v high  H.264 as docs/transcoding.md's "Encoder settings" chose
 *   -crf 21 -maxrate R -bufsize 2R                 capped CRF: constant quality (CRF chosen by
 *                                                  bench:quality), the rung's bitrate as a
 *                                                  ceiling over a 2 s buffer
 *   -force_key_frames expr:gte(t,n_forced*2)       a keyframe every 2 s
 *   -c:v libvpx-vp9 -crf 33 -b:v R                 VP9 constrained quality: CRF 33, -b:v the cap
 *       -deadline realtime -cpu-used 8 -row-mt 1   realtime speed 8
 *   -c:a aac -b:a A -ac 2   /   -c:a libopus ...   stereo AAC in MP4, Opus in WebM
 *   -movflags +faststart -f mp4   /   -f webm      the index first, for progressive playback
 * and then the thumbnail the way one usually does it: `ffmpeg -ss 2 -i SRC -frames:v 1 -vf
 * scale=320:-2 thumbnail.jpg` (one frame, no representative-frame search).
 */

/** The CRF of each codec, chosen from bench:quality's curve (docs/transcoding.md, "Encoder settings"). */
export const RAW_CRF = { h264: 21, vp9: 33 } as const

/** One rendition, written out by hand for a source of a known size. */
export interface RawRendition {
  name: string
  codec: 'h264' | 'vp9'
  /** ffmpeg scale expression. */
  scale: string
  /** The profile's video bitrate: the ceiling of capped CRF. */
  videoKbps: number
  audioKbps: number
}

/**
 * What the pipeline makes of each benchmark source, as a person would list it: a 1080p source
 * gets the 1080/720/480/360 rungs in H.264, its own size and 720p in VP9; the
 * 640x480 camera clip gets 480p and 360p in H.264 and its own size in VP9.
 */
export const RAW_LADDERS: Record<'1080p' | '480p', RawRendition[]> = {
  '1080p': [
    { name: '1080p', codec: 'h264', scale: 'scale=-2:1080', videoKbps: 5000, audioKbps: 128 },
    { name: '720p', codec: 'h264', scale: 'scale=-2:720', videoKbps: 2500, audioKbps: 128 },
    { name: '480p', codec: 'h264', scale: 'scale=-2:480', videoKbps: 1500, audioKbps: 128 },
    { name: '360p', codec: 'h264', scale: 'scale=-2:360', videoKbps: 800, audioKbps: 96 },
    { name: 'webm_original', codec: 'vp9', scale: 'scale=1920:1080', videoKbps: 3650, audioKbps: 96 },
    { name: 'webm_720p', codec: 'vp9', scale: 'scale=-2:720', videoKbps: 2000, audioKbps: 96 },
  ],
  '480p': [
    { name: '480p', codec: 'h264', scale: 'scale=-2:480', videoKbps: 1500, audioKbps: 128 },
    { name: '360p', codec: 'h264', scale: 'scale=-2:360', videoKbps: 800, audioKbps: 96 },
    { name: 'webm_original', codec: 'vp9', scale: 'scale=640:480', videoKbps: 900, audioKbps: 96 },
  ],
}

function encoder(r: RawRendition, label: string, audio: boolean, out: string): string[] {
  const cap = `${r.videoKbps}k`
  // biome-ignore format: flag and value on one line
  const video =
    r.codec === 'h264'
      ? [
          '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'high',
          '-crf', String(RAW_CRF.h264), '-maxrate', cap, '-bufsize', `${r.videoKbps * 2}k`,
        ]
      : [
          '-c:v', 'libvpx-vp9', '-crf', String(RAW_CRF.vp9), '-b:v', cap,
          '-deadline', 'realtime', '-cpu-used', '8', '-row-mt', '1',
        ]
  const sound = audio
    ? ['-map', '0:a:0', '-c:a', r.codec === 'h264' ? 'aac' : 'libopus', '-b:a', `${r.audioKbps}k`, '-ac', '2']
    : ['-an']
  const container = r.codec === 'h264' ? ['-movflags', '+faststart', '-f', 'mp4'] : ['-f', 'webm']
  const file = `${out}/${r.name}.${r.codec === 'h264' ? 'mp4' : 'webm'}`
  return [
    '-map',
    `[${label}]`,
    ...video,
    '-force_key_frames',
    'expr:gte(t,n_forced*2)',
    ...sound,
    ...container,
    file,
  ]
}

const QUIET = ['-hide_banner', '-nostdin', '-y', '-loglevel', 'error']

/** Hand-written: one decode split to every encoder, then a one-frame thumbnail. */
export function rawCommands(source: string, ladder: RawRendition[], audio: boolean, out: string): string[][] {
  const labels = ladder.map((_, i) => `v${i}`)
  const graph = [
    `[0:v]split=${ladder.length}${labels.map((l) => `[in_${l}]`).join('')}`,
    ...ladder.map((r, i) => `[in_v${i}]${r.scale},format=yuv420p[v${i}]`),
  ].join(';')
  const encode = [...QUIET, '-i', source, '-filter_complex', graph]
  for (const [i, r] of ladder.entries()) encode.push(...encoder(r, `v${i}`, audio, out))
  return [encode, thumbnailCommand(source, out)]
}

/** One run per output, each decoding the source again. */
export function naiveCommands(
  source: string,
  ladder: RawRendition[],
  audio: boolean,
  out: string,
): string[][] {
  const runs = ladder.map((r) => [
    ...QUIET,
    '-i',
    source,
    '-filter_complex',
    `[0:v]${r.scale},format=yuv420p[v]`,
    ...encoder(r, 'v', audio, out),
  ])
  return [...runs, thumbnailCommand(source, out)]
}

function thumbnailCommand(source: string, out: string): string[] {
  return [...QUIET, '-ss', '2', '-i', source, '-frames:v', '1', '-vf', 'scale=320:-2', `${out}/thumbnail.jpg`]
}
