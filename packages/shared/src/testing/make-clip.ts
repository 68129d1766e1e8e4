import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface ClipOptions {
  width: number
  height: number
  seconds: number
  audio: boolean
  fps?: number
  /** e.g. yuv422p10le for a 10-bit 4:2:2 source (default yuv420p). */
  pixFmt?: string
  /** Audio channels (default 1). */
  channels?: number
  /** Quarter turns of display rotation written into the container (a phone's portrait video). */
  rotate?: 90 | 270
}

/**
 * Generate a short H.264 test clip with ffmpeg's lavfi sources (testsrc2 pattern, 440 Hz sine),
 * so tests never depend on files they did not make.
 */
export async function makeClip(path: string, options: ClipOptions): Promise<string> {
  const fps = options.fps ?? 24
  const args = [
    '-hide_banner',
    '-loglevel',
    'error',
    '-nostdin',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${options.width}x${options.height}:rate=${fps}:duration=${options.seconds}`,
  ]
  if (options.audio)
    args.push('-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${options.seconds}`)
  args.push('-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', options.pixFmt ?? 'yuv420p')
  if (options.audio) args.push('-c:a', 'aac', '-b:a', '96k', '-ac', String(options.channels ?? 1))
  const target = options.rotate ? `${path}.norotate.mp4` : path
  args.push(target)
  await run('ffmpeg', args)
  if (options.rotate) {
    // ffmpeg 5.1 writes the display matrix only when stream-copying.
    const rotate = ['-metadata:s:v:0', `rotate=${options.rotate}`]
    await run('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-i',
      target,
      '-c',
      'copy',
      ...rotate,
      path,
    ])
  }
  return path
}

export interface ProbedStream {
  codec_type: string
  codec_name: string
  width?: number
  height?: number
  pix_fmt?: string
  channels?: number
}

/** ffprobe a file's streams and container (for assertions). */
export async function probeFile(
  path: string,
): Promise<{ streams: ProbedStream[]; format: { format_name: string; size?: string } }> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-print_format',
    'json',
    '-show_streams',
    '-show_format',
    path,
  ])
  return JSON.parse(stdout)
}
