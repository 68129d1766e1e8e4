import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface ClipOptions {
  width: number
  height: number
  seconds: number
  audio: boolean
  fps?: number
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
  args.push('-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p')
  if (options.audio) args.push('-c:a', 'aac', '-b:a', '96k')
  args.push(path)
  await run('ffmpeg', args)
  return path
}

export interface ProbedStream {
  codec_type: string
  codec_name: string
  width?: number
  height?: number
}

/** ffprobe a file's streams and container (for assertions). */
export async function probeFile(
  path: string,
): Promise<{ streams: ProbedStream[]; format: { format_name: string } }> {
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
