/**
 * What the job record says of each output, from what the plan set and ffmpeg wrote: no ffprobe
 * of each file. Sizes and codecs come from the plan, bytes from the files, the duration from the
 * first video rendition as written (every rendition is the same stretch of the input): its MP4
 * movie header, read in place, or ffprobe for a WebM. The packaged outputs (HLS, storyboard) are
 * made here, once the renditions are described, and each video rendition's SSIM is measured.
 */
import { stat } from 'node:fs/promises'
import type { Output, Profile } from '@vpp/shared'
import type { Encoded } from './chunks/coordinate.ts'
import type { FfmpegRun } from './ffmpeg-args/index.ts'
import { mp4Duration } from './mp4-duration.ts'
import type { ExtraFile } from './packaging.ts'
import { longerThanClaimed, type Probe } from './probe.ts'
import { writtenDuration } from './probe-input.ts'
import { measureQuality } from './quality.ts'

/**
 * Seconds of output past MAX_DURATION_SECONDS that still count as within it (timestamps of the
 * last frames round up a little); ffmpeg reads up to a second past (inputArgs).
 */
const PAST_LIMIT_TOLERANCE_S = 0.5

type Written = FfmpegRun['outputs']
type QualityContext = Parameters<typeof measureQuality>[4]

export interface Described {
  /** The files written, in the profile table's order. */
  written: Written
  /** The job record's description of each of `written`, in the same order. */
  described: Array<Omit<Output, 'path'>>
  /** The packaged outputs' files (playlists, storyboard sheets and cues). */
  extra: ExtraFile[]
  /** Seconds of the renditions as written; null without a video rendition. */
  duration: number | null
}

/**
 * Every output of `encoded` described, the packaged ones made. Output longer than the limit
 * allows (an input longer than its container claimed) is refused: nothing is published.
 */
export async function describeOutputs(
  encoded: Encoded,
  input: string,
  probe: Probe,
  ctx: QualityContext,
  /** Seconds into the input where the renditions start (a clip's start; SSIM compares from there). */
  clipStart = 0,
): Promise<Described> {
  const { config } = ctx
  const written = [...encoded.written].sort(
    (a, b) => tableOrder(config.profiles, a.profile) - tableOrder(config.profiles, b.profile),
  )
  const packaged = new Set(written.filter((output) => !output.media).map((output) => output.profile))
  // A video rendition's; for a job that makes the audio alone and no video, the audio's.
  const first =
    written.find((output) => output.media?.width && output.media.codec !== 'mjpeg') ??
    written.find((output) => output.media?.codec === 'aac')
  const duration = first
    ? ((first.path.endsWith('.mp4') ? await mp4Duration(first.path) : null) ??
      (await writtenDuration(first.path, ctx)))
    : null
  // ffmpeg reads at most a second past MAX_DURATION_SECONDS (inputArgs): output past the limit
  // means the input is longer than it, whatever its container claimed. Nothing is published.
  if (duration !== null && duration > config.MAX_DURATION_SECONDS + PAST_LIMIT_TOLERANCE_S)
    throw longerThanClaimed(probe.duration, config.MAX_DURATION_SECONDS)
  // Each video rendition's SSIM against the source, on a sample (both engines' renditions),
  // measured while the playlists and the storyboard's sheets are made.
  const quality = measureQuality(input, probe, written, duration, ctx, clipStart)
  quality.catch(() => {}) // awaited below; a failure of the packaging first is the one thrown
  const media = await Promise.all(
    written
      .filter((output) => !packaged.has(output.profile))
      .map(async (output) =>
        // The audio alone is as long as its own samples (AAC frames end a little past the video).
        describeWritten(
          output,
          output.media?.codec === 'aac' ? await ownDuration(output.path, ctx) : duration,
        ),
      ),
  )
  const byProfile = new Map(media.map((output) => [output.profile, output]))
  const extra: ExtraFile[] = []
  for (const finished of await encoded.finish(byProfile, duration)) {
    byProfile.set(finished.output.profile, finished.output)
    extra.push(...finished.files)
  }
  const ssim = await quality
  const described = written.map((output) => {
    const description = byProfile.get(output.profile) as Omit<Output, 'path'>
    const measured = ssim.get(output.profile)
    return measured === undefined ? description : { ...description, ssim: measured }
  })
  return { written, described, extra, duration }
}

/**
 * Where an output goes in the profile table's order, whatever order the runs wrote them in; a
 * rendition at the source's own size comes just before its codec family's rungs.
 */
function tableOrder(profiles: readonly Profile[], name: string): number {
  const at = profiles.findIndex((p) => p.name === name)
  if (at >= 0) return at
  // Not in the table: a source-size rendition, or (H.264) a rung between it and the table's top.
  const codec = name === 'webm_original' ? 'vp9' : 'h264'
  const family = profiles.findIndex((p) => p.kind === 'video' && p.codec === codec)
  return family - (name === 'original' || name === 'webm_original' ? 0.5 : 0.25)
}

/** Seconds of an MP4 (M4A) the transcoder wrote: its movie header, or ffprobe. */
async function ownDuration(path: string, ctx: QualityContext): Promise<number | null> {
  return (await mp4Duration(path)) ?? (await writtenDuration(path, ctx))
}

/** A written rendition or thumbnail, as the job record describes it. */
async function describeWritten(
  output: Written[number],
  duration: number | null,
): Promise<Omit<Output, 'path'>> {
  if (!output.media) throw new Error(`output ${output.profile} has no description`)
  const size = (await stat(output.path)).size
  const still = output.media.codec === 'mjpeg'
  return {
    profile: output.profile,
    width: output.media.width,
    height: output.media.height,
    duration: still ? null : duration,
    size_bytes: size,
    bitrate: still || !duration ? null : Math.round((size * 8) / duration),
    codec: output.media.codec,
  }
}
