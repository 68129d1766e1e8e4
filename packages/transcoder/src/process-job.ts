import { mkdir, rm } from 'node:fs/promises'
import { extname, join, relative } from 'node:path'
import {
  AppError,
  addressPolicy,
  type Clip,
  diskFull,
  errorMessage,
  isNoSpace,
  type Job,
  type Logger,
  MEDIA_TYPES,
  type MediaStorage,
  madeByDefault,
  type Output,
  type Skipped,
  type TranscoderMetrics,
} from '@vpp/shared'
import { type Chunking, type Encoded, encodeInChunks } from './chunks/coordinate.ts'
import { keyframeArgs, parsePackets } from './chunks/plan.ts'
import { checkClip, clipTimeline, onFrames } from './clip.ts'
import type { TranscoderConfig } from './config.ts'
import { describeOutputs } from './describe-outputs.ts'
import { download } from './download.ts'
import { runProcess } from './ffmpeg-process.ts'
import { scratchVolume, storageFailure, VOLUMES } from './health.ts'
import { encodeInOneRun } from './one-run.ts'
import type { ExtraFile } from './packaging.ts'
import { checkInput, type Probe } from './probe.ts'
import { probeInput } from './probe-input.ts'
import { watermarkFile } from './watermark-file.ts'

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
 * Run one job: fetch the input (URL imports), probe it, run ffmpeg, describe every output from
 * what the plan set and ffmpeg wrote (describeOutputs: no ffprobe of each file; only a WebM's
 * length is read with ffprobe), then publish the outputs under `{job_id}/` in storage. Outputs
 * are written in a private work directory first, so a failed run never leaves partial files
 * where readers look.
 */
export async function processJob(job: Job, ctx: JobContext): Promise<JobResult> {
  const { config, storage, logger } = ctx
  // Where ffmpeg writes, by the variable that places it: a full disk there is `disk_full`.
  const scratch = scratchVolume(storage.backend)
  if (job.source === 'url') await importUrl(job, ctx)

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
    // A clip past the video's end fails for good now, before anything is encoded (a video whose
    // header has no length, a browser's recording, is measured from its packets for it).
    checkClip(
      job.clip,
      job.clip && probe.duration === null ? await withPacketLength(input, probe, ctx) : probe,
    )
    // The clip's cuts on the source's frames; what the encode sees is its timeline (0 = its start).
    const clip = onFrames(job.clip, probe)
    const timeline = clipTimeline(probe, clip)

    const outDir = join(workDir, 'out')
    await mkdir(outDir)
    const encoded = await encode(job, input, probe, clip, { work: workDir, out: outDir }, ctx, scratch)
    const { written, described, extra, duration } = await describeOutputs(
      encoded,
      input,
      timeline,
      ctx,
      clip?.start,
    )
    // Fencing: a worker that lost the job (taken over after a stall) must not overwrite the files
    // of the one that holds it now.
    if (!(await ctx.stillOwner())) throw new LostClaimError()
    const outputs = await publish(job, ctx, scratch, described, [
      ...written.map((output) => ({ name: relative(outDir, output.path), path: output.path })),
      ...extra,
    ])
    // One run: the stream is playable now, with everything else (a chunked job said so earlier).
    const chunking = ctx.chunking
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

/** A storage step whose failure is told as one of `volume` (a full disk there is `disk_full`). */
const stored = <T>(step: Promise<T>, volume: string) =>
  step.catch((error: unknown) => {
    throw storageFailure(error, volume)
  })

/** A URL import's input, fetched into storage unless an earlier attempt did. */
async function importUrl(job: Job, ctx: JobContext): Promise<void> {
  const { config, storage } = ctx
  if (await stored(storage.hasUpload(job.job_id), VOLUMES.upload)) return
  const sink = await stored(storage.create(job.job_id), VOLUMES.upload)
  const bytes = await download(job.source_url ?? '', sink, {
    maxBytes: config.MAX_FILE_SIZE,
    timeoutMs: config.URL_IMPORT_TIMEOUT * 1000,
    allowed: addressPolicy(config.URL_IMPORT_ALLOW_PRIVATE),
    resolve: ctx.resolveHost,
    signal: ctx.signal,
    stillOwner: ctx.stillOwner,
  })
  ctx.logger.info('download complete', { size_bytes: bytes })
}

/** The encode, in chunks when the job may be and the video is long enough, else in one run. */
async function encode(
  job: Job,
  input: string,
  probe: Probe,
  clip: Clip | undefined,
  dirs: { work: string; out: string },
  ctx: JobContext,
  scratch: string,
): Promise<Encoded> {
  const { config } = ctx
  // The job's own subset of the profiles, when it asked for one (names this transcoder does not
  // make are left out); without one, what is made by default (`audio` only when asked).
  const profiles = job.profiles
    ? config.profiles.filter((p) => job.profiles?.includes(p.name))
    : madeByDefault(config.profiles)
  const chunking = ctx.chunking
  // A clip's own length decides, and the one run reads the clip only (on its timeline).
  const timeline = clipTimeline(probe, clip)
  // The audio alone is one quick run: no video to cut into chunks, nor to lay a watermark over.
  const video = profiles.some((p) => p.kind !== 'audio')
  // Decoded here once (a PNG that does not decode fails the job); the chunks read the job's copy.
  const watermark = video ? await watermarkFile(job, dirs.work, ctx) : undefined
  if (!chunking || !video || !inChunks(timeline.duration, config.CHUNK_SECONDS)) {
    const asked = job.profiles
    return encodeInOneRun(input, dirs.out, profiles, timeline, ctx, scratch, {
      asked,
      clip,
      watermark,
      normalizeAudio: job.normalize_audio,
    })
  }
  return encodeInChunks(job.job_id, input, probe, profiles, dirs, {
    watermark: job.watermark,
    ...ctx,
    chunking,
    lost: () => new LostClaimError(),
    createdAt: new Date(job.created_at),
    asked: job.profiles,
    clip,
    normalizeAudio: job.normalize_audio,
  })
}

/** Every file in one publish (a job whose packaging failed publishes nothing): the outputs, logged. */
async function publish(
  job: Job,
  ctx: JobContext,
  scratch: string,
  described: ReadonlyArray<Omit<Output, 'path'>>,
  files: ExtraFile[],
): Promise<Output[]> {
  const { storage, logger } = ctx
  const published = await stored(
    storage.publish(
      job.job_id,
      files.map((file) => ({ ...file, contentType: contentType(file.name) })),
      // The check before is one moment: a claim lost during the upload stops it at the next file.
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
  return outputs
}

/** The probe with the length its video packets hold (keyframeArgs: nothing decoded). */
async function withPacketLength(input: string, probe: Probe, ctx: JobContext): Promise<Probe> {
  const { config } = ctx
  const { stdout } = await runProcess(config.FFPROBE_PATH, keyframeArgs(input, probe), {
    timeoutMs: 600_000,
    signal: ctx.signal,
    memoryLimitMb: config.memoryLimitMb,
    maxStdout: 512 * 1024 * 1024,
  })
  return { ...probe, duration: parsePackets(stdout).end }
}

/** A video of at least two chunks is encoded in chunks (below, one run costs less and is as quick). */
export function inChunks(duration: number | null, chunkSeconds: number): boolean {
  return chunkSeconds > 0 && duration !== null && duration >= 2 * chunkSeconds
}

/** The job was taken over by another transcoder: drop this attempt without recording anything. */
export class LostClaimError extends Error {
  constructor() {
    super('another transcoder took this job over')
    this.name = 'LostClaimError'
  }
}
