import { mkdir, rm, stat } from 'node:fs/promises'
import { extname, join, relative } from 'node:path'
import {
  AppError,
  addressPolicy,
  diskFull,
  errorMessage,
  isNoSpace,
  type Job,
  type Logger,
  MEDIA_TYPES,
  type MediaStorage,
  type Output,
  PermanentJobError,
  type Profile,
  type Skipped,
  type TranscoderMetrics,
} from '@vpp/shared'
import { buildArgs } from './build-args.ts'
import { type Chunking, type Encoded, encodeInChunks } from './chunks/coordinate.ts'
import type { TranscoderConfig } from './config.ts'
import { download } from './download.ts'
import { type FfmpegRun, outputFps } from './ffmpeg-args/index.ts'
import { lastLine, ProcessError, runProcess } from './ffmpeg-process.ts'
import { noSpaceIn, scratchVolume, storageFailure, VOLUMES } from './health.ts'
import { mp4Duration } from './mp4-duration.ts'
import { type ExtraFile, finishHls, finishStoryboard } from './packaging.ts'
import {
  checkFirstLook,
  checkInput,
  type FfprobeJson,
  firstLookArgs,
  longerThanClaimed,
  type Probe,
  parseProbe,
  probeArgs,
  writtenDurationArgs,
} from './probe.ts'
import { etaSeconds, progressParser, progressPercent } from './progress.ts'
import { measureQuality } from './quality.ts'
import { atCeiling, ffmpegTimeoutMs, overMemoryLimit } from './retry-policy.ts'

/**
 * Seconds of output past MAX_DURATION_SECONDS that still count as within it (timestamps of the
 * last frames round up a little); ffmpeg reads up to a second past (inputArgs).
 */
const PAST_LIMIT_TOLERANCE_S = 0.5
/**
 * How long past the video's own length a chunked job keeps the stream it published while it was
 * encoded (the final one is byte ranges of the MP4s, under other names): a player that started on
 * it plays it to the end, with ten minutes of pauses.
 */
const LEFTOVER_GRACE_S = 600

export interface JobContext {
  config: TranscoderConfig
  storage: MediaStorage
  logger: Logger
  metrics: TranscoderMetrics
  /** Aborted when the job must stop (shutdown past its grace, or the claim was lost): kills ffmpeg. */
  signal: AbortSignal
  /** Asked right before the outputs are moved into place: false means another worker owns the job now. */
  stillOwner: () => Promise<boolean>
  /** Host name -> addresses for URL imports (tests pass their own); the system resolver otherwise. */
  resolveHost?: (hostname: string) => Promise<string[]>
  /** Progress of the transcode, 0-100, with seconds left when known; called about once a second. */
  onProgress?: (percent: number, etaSeconds: number | null) => void
  /** The job's hold, for an encode in chunks (none: always one run, as the queue benchmark wants). */
  chunking?: Chunking
}

export interface JobResult {
  outputs: Output[]
  skipped: Skipped[]
  /** Folders of the outputs kept until a time only (see Encoded.leftovers). */
  leftovers?: { folders: string[]; until: Date }
}

/** The published file's content type, by extension. */
const contentType = (name: string) => MEDIA_TYPES[extname(name).slice(1)] ?? 'application/octet-stream'

/**
 * Run one job: fetch the input (URL imports), probe it, run ffmpeg, describe every output with
 * ffprobe, then publish the outputs under `{job_id}/` in storage. Outputs are written in a
 * private work directory first, so a failed run never leaves partial files where readers look.
 */
export async function processJob(job: Job, ctx: JobContext): Promise<JobResult> {
  const { config, storage, logger } = ctx
  // Where ffmpeg writes, by the variable that places it: a full disk there is `disk_full`.
  const scratch = scratchVolume(storage.backend)
  const stored = <T>(step: Promise<T>, volume: string) =>
    step.catch((error: unknown) => {
      throw storageFailure(error, volume)
    })
  if (job.source === 'url' && !(await stored(storage.hasUpload(job.job_id), VOLUMES.upload))) {
    const sink = await stored(storage.create(job.job_id), VOLUMES.upload)
    const bytes = await download(job.source_url ?? '', sink, {
      maxBytes: config.MAX_FILE_SIZE,
      timeoutMs: config.URL_IMPORT_TIMEOUT * 1000,
      allowed: addressPolicy(config.URL_IMPORT_ALLOW_PRIVATE),
      resolve: ctx.resolveHost,
      signal: ctx.signal,
      stillOwner: ctx.stillOwner,
    })
    logger.info('download complete', { size_bytes: bytes })
  }

  const workDir = await stored(storage.workDir(job.job_id), scratch)
  try {
    const input = await storage.localUpload(job.job_id, workDir).catch((error: unknown) => {
      if (error instanceof AppError) throw error
      if (isNoSpace(error)) throw diskFull(scratch, { cause: error })
      throw new AppError('storage_error', `Input is not readable (${errorMessage(error)})`, 500, {
        cause: error,
      })
    })
    const probe = await probeInput(input, ctx)
    logger.info('input probed', {
      container: probe.formatName,
      width: probe.width,
      height: probe.height,
      duration: probe.duration,
      codec: probe.videoCodec,
      streams: probe.streams,
    })
    checkInput(probe, {
      maxDurationSeconds: config.MAX_DURATION_SECONDS,
      maxPixels: config.MAX_PIXELS,
      maxStreams: config.MAX_STREAMS,
    })

    const outDir = join(workDir, 'out')
    await mkdir(outDir)
    // The job's own subset of the profiles, when it asked for one (names this transcoder does not
    // make are left out).
    const profiles = job.profiles
      ? config.profiles.filter((p) => job.profiles?.includes(p.name))
      : config.profiles
    const chunking = ctx.chunking
    const encoded =
      chunking && inChunks(probe.duration, config.CHUNK_SECONDS)
        ? await encodeInChunks(
            job.job_id,
            input,
            probe,
            profiles,
            { work: workDir, out: outDir },
            {
              ...ctx,
              chunking,
              lost: () => new LostClaimError(),
              createdAt: new Date(job.created_at),
              asked: job.profiles,
            },
          )
        : await encodeInOneRun(input, outDir, profiles, probe, ctx, scratch, job.profiles)
    // In the profile table's order, whatever order the runs wrote them in; a rendition at the
    // source's own size comes just before its codec family's rungs.
    const order = (name: string) => {
      const at = config.profiles.findIndex((p) => p.name === name)
      if (at >= 0) return at
      // Not in the table: a source-size rendition, or (H.264) a rung between it and the table's top.
      const codec = name === 'webm_original' ? 'vp9' : 'h264'
      const family = config.profiles.findIndex((p) => p.kind === 'video' && p.codec === codec)
      return family - (name === 'original' || name === 'webm_original' ? 0.5 : 0.25)
    }
    const written = [...encoded.written].sort((a, b) => order(a.profile) - order(b.profile))
    const packaged = new Set(written.filter((output) => !output.media).map((output) => output.profile))
    // Described from what the plan set and ffmpeg wrote (no ffprobe of each file): size and
    // codec from the plan, bytes from the file, duration from the first video rendition as
    // written (every rendition is the same stretch of the input), whatever the container claimed:
    // its MP4 movie header, read in place (ffprobe for a WebM).
    const first = written.find((output) => output.media && output.media.codec !== 'mjpeg')
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
    const quality = measureQuality(input, probe, written, duration, ctx)
    quality.catch(() => {}) // awaited below; a failure of the packaging first is the one thrown
    const media = await Promise.all(
      written
        .filter((output) => !packaged.has(output.profile))
        .map((output) => describeWritten(output, duration)),
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
    // Fencing: a worker that lost the job (taken over after a stall) must not overwrite the files
    // of the one that holds it now.
    if (!(await ctx.stillOwner())) throw new LostClaimError()
    // Every file in one publish: a job whose packaging failed above publishes nothing.
    const files = [
      ...written.map((output) => ({ name: relative(outDir, output.path), path: output.path })),
      ...extra,
    ]
    const published = await stored(
      storage.publish(
        job.job_id,
        files.map((file) => ({ ...file, contentType: contentType(file.name) })),
        // The check above is one moment: a claim lost during the upload stops it at the next file.
        ctx.signal,
      ),
      storage.backend === 'local' ? VOLUMES.output : scratch,
    )
    const outputs = described.map((output, i) => ({ ...output, ...published[i] }) as Output)
    for (const output of outputs) {
      logger.info('rendition written', {
        profile: output.profile,
        size_bytes: output.size_bytes,
        width: output.width,
        height: output.height,
      })
    }
    // One run: the stream is playable now, with everything else (a chunked job said so earlier).
    if (chunking && outputs.some((output) => output.codec === 'hls')) {
      if (await chunking.work.playable(chunking.claim, new Date()))
        ctx.metrics.timeToPlayable.observe((Date.now() - Date.parse(job.created_at)) / 1000)
    }
    // Long enough for a player that started on the growing stream to play it to the end.
    const until = new Date(Date.now() + ((duration ?? 0) + LEFTOVER_GRACE_S) * 1000)
    return {
      outputs,
      skipped: encoded.skipped,
      ...(encoded.leftovers ? { leftovers: { folders: encoded.leftovers, until } } : {}),
    }
  } catch (error) {
    // A write of ours in the work directory (a folder, a playlist) that met a full disk.
    if (!(error instanceof AppError) && isNoSpace(error)) throw diskFull(scratch, { cause: error })
    throw error
  } finally {
    await rm(workDir, { recursive: true, force: true })
  }
}

/**
 * The whole encode in one ffmpeg run (and the storyboard's sheet run): what a video shorter than
 * two chunks gets, or every video with CHUNK_SECONDS=0.
 */
async function encodeInOneRun(
  input: string,
  outDir: string,
  profiles: readonly Profile[],
  probe: Probe,
  ctx: JobContext,
  scratch: string,
  asked?: readonly string[],
): Promise<Encoded> {
  const { config, logger } = ctx
  const plan = buildArgs({ input, outDir }, profiles, probe, {
    asked,
    threads: config.threads,
    maxPixels: config.MAX_PIXELS,
    maxDurationSeconds: config.MAX_DURATION_SECONDS,
    hlsSegmentSeconds: config.HLS_SEGMENT_SECONDS,
    storyboardInterval: config.STORYBOARD_INTERVAL,
  })
  // The rungs' playlists go there once the MP4s are written (finishHls).
  if (plan.hls) await mkdir(plan.hls.dir, { recursive: true })
  for (const skip of plan.skipped)
    logger.info('profile skipped', { profile: skip.profile, reason: skip.reason })
  // From the limit, not from what the container claims: a forged short duration buys no
  // shorter budget, and a forged long one no longer (inputs are read to the limit at most).
  const timeoutMs = ffmpegTimeoutMs(config.FFMPEG_TIMEOUT, config.MAX_DURATION_SECONDS)
  for (const run of plan.runs) {
    const started = performance.now()
    const onLine = run.progress ? progressReporter(probe.duration, ctx.onProgress) : undefined
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
      throw explainFailure(
        error,
        { [`file:${input}`]: 'input', [input]: 'input', [outDir]: 'output' },
        scratch,
        timeoutMs,
      )
    })
    const seconds = (performance.now() - started) / 1000
    for (const output of run.outputs) ctx.metrics.duration.observe({ profile: output.profile }, seconds)
    logger.info('ffmpeg run finished', {
      profiles: run.outputs.map((o) => o.profile),
      duration_ms: Math.round(seconds * 1000),
    })
  }
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

/** A video of at least two chunks is encoded in chunks (below, one run costs less and is as quick). */
export function inChunks(duration: number | null, chunkSeconds: number): boolean {
  return chunkSeconds > 0 && duration !== null && duration >= 2 * chunkSeconds
}

/**
 * What an encoder's failure says in the job record: this machine's paths named (`input`,
 * `output`), a full disk as `disk_full`, the memory limit and the time ceiling as what they are.
 */
export function explainFailure(
  error: unknown,
  paths: Record<string, string>,
  scratch: string,
  timeoutMs: number,
): unknown {
  const scrubbed = scrubPaths(error, paths)
  // "No space left on device" somewhere in what ffmpeg said: the outputs met a full disk.
  if (scrubbed instanceof ProcessError && noSpaceIn(scrubbed.stderr))
    return diskFull(scratch, { cause: scrubbed })
  return atCeiling(overMemoryLimit(scrubbed), timeoutMs)
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

async function probeInput(input: string, ctx: JobContext): Promise<Probe> {
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
    const limited = overMemoryLimit(error)
    if (limited !== error) throw limited
    // ffprobe said no (exit status); killed by a signal (exit code null, e.g. out of memory) may pass.
    if (error instanceof ProcessError && error.reason === 'exit' && error.exitCode !== null) {
      // "[hls @ 0x55...] Format not on whitelist '...'": probing found a container we never read.
      const refused = /\[([\w,]+) @ [^\]]*\] Format not on whitelist/.exec(error.stderr)?.[1]
      if (refused) {
        throw new PermanentJobError(
          'unsupported_container',
          `Input container ${refused} is not accepted; use mp4, mov, avi, mkv or webm`,
        )
      }
      const why = lastLine(error.stderr.replaceAll(`file:${input}`, 'input').replaceAll(input, 'input'))
      throw new PermanentJobError(
        'invalid_input',
        `Input is not a readable video file${why ? ` (${why})` : ''}`,
      )
    }
    throw error
  }
  return parseProbe(JSON.parse(stdout) as FfprobeJson)
}

/**
 * Seconds of a written rendition, as its container says (ffmpeg wrote it: no forged header);
 * null when ffprobe cannot tell. ffmpeg's own -progress out_time is not it: it is the last
 * packet's start, in a muxer's time base (61 µs for a 3 s 1 fps MP4, in ffmpeg 5.1).
 */
async function writtenDuration(path: string, ctx: JobContext): Promise<number | null> {
  const { stdout } = await runProcess(ctx.config.FFPROBE_PATH, writtenDurationArgs(path), {
    timeoutMs: 60_000,
    signal: ctx.signal,
    memoryLimitMb: ctx.config.memoryLimitMb,
  })
  const seconds = Number(stdout.trim())
  return Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds * 1000) / 1000 : null
}

/** A written rendition or thumbnail, as the job record describes it. */
async function describeWritten(
  output: FfmpegRun['outputs'][number],
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

/** Error messages go into job records: say "input"/"output", not this machine's paths. */
function scrubPaths(error: unknown, paths: Record<string, string>): unknown {
  if (!(error instanceof Error)) return error
  for (const [path, name] of Object.entries(paths)) error.message = error.message.replaceAll(path, name)
  return error
}

/** The job was taken over by another transcoder: drop this attempt without recording anything. */
export class LostClaimError extends Error {
  constructor() {
    super('another transcoder took this job over')
    this.name = 'LostClaimError'
  }
}
