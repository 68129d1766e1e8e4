/**
 * The whole encode in one ffmpeg run: what a video shorter than two chunks gets (processJob's
 * encode), with its clip, watermark and loudness.
 */
import { mkdir } from 'node:fs/promises'
import type { Clip, Profile } from '@vpp/shared'
import { buildArgs } from './build-args.ts'
import type { Encoded } from './chunks/coordinate.ts'
import { explainFailure } from './explain-failure.ts'
import {
  type EncodeOptions,
  type FfmpegRun,
  inputArgs,
  measureArgs,
  outputFps,
  type WatermarkRun,
  watermarkPaths,
} from './ffmpeg-args/index.ts'
import { runProcess } from './ffmpeg-process.ts'
import { afterMeasuring, measureLoudness, measuringProgress } from './measure-loudness.ts'
import { finishHls, finishStoryboard } from './packaging.ts'
import type { Probe } from './probe.ts'
import type { JobContext } from './process-job.ts'
import { etaSeconds, progressParser, progressPercent } from './progress.ts'
import { ffmpegTimeoutMs } from './retry-policy.ts'

/** What a one-run encode does besides the profiles: the job's own list, clip, watermark, loudness. */
export interface OneRunOptions {
  asked?: readonly string[]
  clip?: Clip
  watermark?: WatermarkRun
  normalizeAudio?: boolean
}

/**
 * The whole encode in one ffmpeg run (and the storyboard's sheet run): what a video shorter than
 * two chunks gets, or every video with CHUNK_SECONDS=0. With a clip, `probe` is its timeline
 * (clipTimeline) and the run reads the clip only.
 */
export async function encodeInOneRun(
  input: string,
  outDir: string,
  profiles: readonly Profile[],
  probe: Probe,
  ctx: JobContext,
  scratch: string,
  job: OneRunOptions,
): Promise<Encoded> {
  const { config, logger } = ctx
  const { clip } = job
  const options: EncodeOptions = {
    asked: job.asked,
    threads: config.threads,
    maxPixels: config.MAX_PIXELS,
    maxDurationSeconds: config.MAX_DURATION_SECONDS,
    hlsSegmentSeconds: config.HLS_SEGMENT_SECONDS,
    storyboardInterval: config.STORYBOARD_INTERVAL,
    clip,
    watermark: job.watermark,
  }
  // normalize_audio: the whole audio measured once, before the run that normalises every output.
  const measuring = Boolean(job.normalizeAudio) && probe.hasAudio
  if (measuring) options.loudness = await measureInput(input, probe, options, ctx, scratch)
  const plan = buildArgs({ input, outDir }, profiles, probe, options)
  // The rungs' playlists go there once the MP4s are written (finishHls).
  if (plan.hls) await mkdir(plan.hls.dir, { recursive: true })
  for (const skip of plan.skipped)
    logger.info('profile skipped', { profile: skip.profile, reason: skip.reason })
  // From the limit, not from what the container claims: a forged short duration buys no
  // shorter budget, and a forged long one no longer (inputs are read to the limit at most). A
  // clip is read for its own length at most (-t): that is the budget.
  const read = clip
    ? Math.min(clip.end - clip.start, config.MAX_DURATION_SECONDS)
    : config.MAX_DURATION_SECONDS
  const timeoutMs = ffmpegTimeoutMs(config.FFMPEG_TIMEOUT, read)
  const paths = {
    [`file:${input}`]: 'input',
    [input]: 'input',
    [outDir]: 'output',
    ...watermarkPaths(job.watermark),
  }
  const report = measuring ? afterMeasuring(ctx.onProgress) : ctx.onProgress
  for (const run of plan.runs) await runOne(run, probe, ctx, { timeoutMs, scratch, paths, report })
  return {
    written: plan.runs.flatMap((run) => run.outputs),
    skipped: plan.skipped,
    finish: async (byProfile, duration) => {
      const finished = []
      if (plan.hls)
        finished.push(
          await finishHls(
            plan.hls,
            byProfile,
            probe.hasAudio,
            Number(outputFps(probe) ?? probe.frameRate) || null,
            config.HLS_SEGMENT_SECONDS,
          ),
        )
      if (plan.storyboard)
        finished.push(await finishStoryboard(plan.storyboard, outDir, duration ?? probe.duration ?? 0))
      return finished
    },
  }
}

/** One ffmpeg run of the plan, timed and logged; its failure said as explainFailure says it. */
async function runOne(
  run: FfmpegRun,
  probe: Probe,
  ctx: JobContext,
  how: {
    timeoutMs: number
    scratch: string
    paths: Record<string, string>
    report: JobContext['onProgress']
  },
): Promise<void> {
  const { config, logger } = ctx
  const { timeoutMs } = how
  const started = performance.now()
  const onLine = run.progress ? progressReporter(probe.duration, how.report) : undefined
  await runProcess(config.FFMPEG_PATH, run.args, {
    timeoutMs,
    signal: ctx.signal,
    maxStdout: 0,
    nice: config.FFMPEG_NICE,
    memoryLimitMb: config.memoryLimitMb,
    // A run that reports progress and stops reporting is hung: the time budget comes from
    // MAX_DURATION_SECONDS (hours), so a short video would wait that long without this.
    stallTimeoutMs: run.progress ? config.FFMPEG_STALL_SECONDS * 1000 : 0,
    onLine,
  }).catch((error: unknown) => {
    throw explainFailure(error, how.paths, how.scratch, timeoutMs)
  })
  const seconds = (performance.now() - started) / 1000
  for (const output of run.outputs) ctx.metrics.duration.observe({ profile: output.profile }, seconds)
  logger.info('ffmpeg run finished', {
    profiles: run.outputs.map((o) => o.profile),
    duration_ms: Math.round(seconds * 1000),
  })
}

/** Pass 1 of normalize_audio over the input as the run reads it (ffmpeg-args/loudness.ts). */
function measureInput(input: string, probe: Probe, options: EncodeOptions, ctx: JobContext, scratch: string) {
  const timeoutMs = ffmpegTimeoutMs(ctx.config.FFMPEG_TIMEOUT, ctx.config.MAX_DURATION_SECONDS)
  return measureLoudness(measureArgs(inputArgs(input, probe, options)), {
    ...ctx,
    onSeconds: measuringProgress(ctx.onProgress, probe.duration),
    explain: (error) =>
      explainFailure(error, { [`file:${input}`]: 'input', [input]: 'input' }, scratch, timeoutMs),
  })
}

/** Turn ffmpeg's -progress lines into percent and ETA, at most once a second. */
function progressReporter(
  duration: number | null,
  report: ((percent: number, eta: number | null) => void) | undefined,
) {
  const started = performance.now()
  let last = 0
  return progressParser(({ outTime, done }) => {
    const now = performance.now()
    if (!report || done || now - last < 1000) return
    last = now
    const percent = progressPercent(outTime, duration)
    if (percent !== null) report(percent, etaSeconds(now - started, percent))
  })
}
