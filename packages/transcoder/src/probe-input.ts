/**
 * ffprobe run on this machine: the input before it is encoded (refused as early as it can be),
 * and the length of a rendition once written.
 */
import { stat } from 'node:fs/promises'
import { AppError, PermanentJobError } from '@vpp/shared'
import type { TranscoderConfig } from './config.ts'
import { lastLine, ProcessError, runProcess } from './ffmpeg-process.ts'
import {
  checkFirstLook,
  type FfprobeJson,
  firstLookArgs,
  type Probe,
  parseProbe,
  probeArgs,
  writtenDurationArgs,
} from './probe.ts'
import { overMemoryLimit } from './retry-policy.ts'

/** What running ffprobe takes of the job's context. */
export interface ProbeContext {
  config: TranscoderConfig
  /** Aborted when the job must stop: kills ffprobe. */
  signal: AbortSignal
}

/**
 * The input, probed: its container's own list first (no frame decoded), checked against the
 * limits, then the full probe. A missing file is a storage problem; what ffprobe refuses is a
 * permanent `invalid_input` or `unsupported_container`.
 */
export async function probeInput(input: string, ctx: ProbeContext): Promise<Probe> {
  // A missing or unreadable file is a storage problem (transient), not a bad video.
  await stat(input).catch((error: NodeJS.ErrnoException) => {
    throw new AppError('storage_error', `Input file is not readable (${error.code ?? error.message})`)
  })
  const { config } = ctx
  const ffprobe = (args: string[]) =>
    runProcess(config.FFPROBE_PATH, args, {
      timeoutMs: 60_000,
      signal: ctx.signal,
      memoryLimitMb: config.memoryLimitMb,
    })
  let stdout: string
  try {
    // The container's own list first, no frame decoded: too many streams or frames too large are
    // refused before the full probe decodes one frame of each stream.
    ;({ stdout } = await ffprobe(firstLookArgs(input)))
    checkFirstLook(JSON.parse(stdout) as FfprobeJson, {
      maxPixels: config.MAX_PIXELS,
      maxStreams: config.MAX_STREAMS,
    })
    ;({ stdout } = await ffprobe(probeArgs(input, config.MAX_PIXELS)))
  } catch (error) {
    throw probeFailure(error, input)
  }
  return parseProbe(JSON.parse(stdout) as FfprobeJson)
}

/** What a failed probe says in the job record. */
function probeFailure(error: unknown, input: string): unknown {
  const limited = overMemoryLimit(error)
  if (limited !== error) return limited
  // ffprobe said no (exit status); killed by a signal (exit code null, e.g. out of memory) may pass.
  if (error instanceof ProcessError && error.reason === 'exit' && error.exitCode !== null) {
    // "[hls @ 0x55...] Format not on whitelist '...'": probing found a container we never read.
    const refused = /\[([\w,]+) @ [^\]]*\] Format not on whitelist/.exec(error.stderr)?.[1]
    if (refused) {
      return new PermanentJobError(
        'unsupported_container',
        `Input container ${refused} is not accepted; use mp4, mov, avi, mkv or webm`,
      )
    }
    const why = lastLine(error.stderr.replaceAll(`file:${input}`, 'input').replaceAll(input, 'input'))
    return new PermanentJobError(
      'invalid_input',
      `Input is not a readable video file${why ? ` (${why})` : ''}`,
    )
  }
  return error
}

/**
 * Seconds of a written rendition, as its container says (ffmpeg wrote it: no forged header);
 * null when ffprobe cannot tell. ffmpeg's own -progress out_time is not it: it is the last
 * packet's start, in a muxer's time base (61 µs for a 3 s 1 fps MP4, in ffmpeg 5.1).
 */
export async function writtenDuration(path: string, ctx: ProbeContext): Promise<number | null> {
  const { stdout } = await runProcess(ctx.config.FFPROBE_PATH, writtenDurationArgs(path), {
    timeoutMs: 60_000,
    signal: ctx.signal,
    memoryLimitMb: ctx.config.memoryLimitMb,
  })
  const seconds = Number(stdout.trim())
  return Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds * 1000) / 1000 : null
}
