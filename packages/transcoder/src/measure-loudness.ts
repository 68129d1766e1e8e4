/**
 * Pass 1 of loudness normalisation, run: the whole audio measured once (ffmpeg-args/loudness.ts),
 * before the encode that normalises with it, in either engine.
 */
import type { Logger } from '@vpp/shared'
import type { TranscoderConfig } from './config.ts'
import { type Loudness, normalizationType, parseLoudnorm } from './ffmpeg-args/index.ts'
import { runProcess } from './ffmpeg-process.ts'
import { progressParser, progressPercent } from './progress.ts'
import { ffmpegTimeoutMs } from './retry-policy.ts'

/**
 * The share of a job's progress the measuring pass takes: it decodes the audio alone, a hundred
 * times as fast as real time or more, while the encode that follows decodes and encodes the video.
 */
export const MEASURE_SHARE = 0.05

export interface MeasureContext {
  config: TranscoderConfig
  logger: Logger
  signal: AbortSignal
  /** Seconds of audio measured so far, about twice a second. */
  onSeconds?: (seconds: number) => void
  /** How a failure is told (the engine's: paths scrubbed, limits named). */
  explain: (error: unknown) => unknown
}

/** Run pass 1 (`args`: measureArgs) and return what it measured, logged with the mode pass 2 will use. */
export async function measureLoudness(args: string[], ctx: MeasureContext): Promise<Loudness> {
  const { config } = ctx
  const started = performance.now()
  const { stderr } = await runProcess(config.FFMPEG_PATH, args, {
    timeoutMs: ffmpegTimeoutMs(config.FFMPEG_TIMEOUT, config.MAX_DURATION_SECONDS),
    signal: ctx.signal,
    maxStdout: 0,
    nice: config.FFMPEG_NICE,
    memoryLimitMb: config.memoryLimitMb,
    stallTimeoutMs: config.FFMPEG_STALL_SECONDS * 1000,
    onLine: progressParser(({ outTime }) => ctx.onSeconds?.(outTime)),
  }).catch((error: unknown) => {
    throw ctx.explain(error)
  })
  const measured = parseLoudnorm(stderr)
  if (!measured) throw new Error('the loudness measurement printed no result')
  const silent = !Number.isFinite(measured.input_i)
  ctx.logger.info('loudness measured', {
    ...measured,
    // What pass 2 does: one gain (linear), loudnorm's dynamic mode, or nothing for a silent track.
    normalization_type: silent ? 'none' : normalizationType(measured),
    duration_ms: Math.round(performance.now() - started),
  })
  return measured
}

type Report = (percent: number, eta: number | null) => void

/**
 * The job's progress while pass 1 runs, from seconds measured: its first MEASURE_SHARE. The time
 * left is not told yet (the encode's pace is not known).
 */
export function measuringProgress(report: Report | undefined, duration: number | null) {
  return (seconds: number) => {
    const percent = progressPercent(seconds, duration)
    if (report && percent !== null) report(Math.round(percent * MEASURE_SHARE * 10) / 10, null)
  }
}

/** The encode's progress (percent 0-100) after pass 1, as the rest of the job's. */
export function afterMeasuring(report: Report | undefined): Report | undefined {
  if (!report) return undefined
  return (percent, eta) =>
    report(Math.round((MEASURE_SHARE * 100 + percent * (1 - MEASURE_SHARE)) * 10) / 10, eta)
}
