/**
 * The coordinator of a chunked encode: the transcoder holding the job (its lease) plans it, cuts
 * the source into parts, queues the work items, and, its slot given back while it waits, follows
 * them: progress from every running item, the HLS stream published as chunks complete in order
 * (EVENT playlists that grow, `job.playable` once the first chunk is in), and at the end the
 * renditions assembled by stream copy. A takeover (its transcoder died) or a retry from the
 * dead-letter queue picks up the recorded plan and redoes only what was not recorded.
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import {
  type ChunkWork,
  type Claim,
  type Logger,
  type MediaStorage,
  type Output,
  PermanentJobError,
  type Profile,
  type TranscoderMetrics,
  type Watermark,
} from '@vpp/shared'
import type { TranscoderConfig } from '../config.ts'
import type { FfmpegRun } from '../ffmpeg-args/index.ts'
import { runProcess } from '../ffmpeg-process.ts'
import type { ExtraFile } from '../packaging.ts'
import type { Probe } from '../probe.ts'
import { progressPercent } from '../progress.ts'
import { splitArgs } from './args.ts'
import { assemble } from './assemble.ts'
import { chunkedProgress } from './audio-loudness.ts'
import { AUDIO_ITEM, chunkItem, type EncodePlan, encodePlan, planItems } from './encode-plan.ts'
import { keyframeArgs, parsePackets } from './plan.ts'
import { audioShare, publishStream, seconds } from './stream.ts'

/** What processJob hands the coordinator: the job's hold, and how to give its slot back. */
export interface Chunking {
  work: ChunkWork
  claim: Claim
  /** The job's slot is free for chunk work while its coordinator waits (called once). */
  release: () => void
}

export interface CoordinatorContext {
  config: TranscoderConfig
  logger: Logger
  metrics: TranscoderMetrics
  signal: AbortSignal
  storage: MediaStorage
  chunking: Chunking
  onProgress?: (percent: number, etaSeconds: number | null) => void
  /** Raised when the job was taken over or deleted: nothing more is done. */
  lost: () => Error
  /** When the job was created (its time to playable counts from there). */
  createdAt: Date
  /** The job's own profile list, when it gave one: exactly those are made (ladder). */
  asked?: readonly string[]
  /** The job's clip (seconds of the source): only its chunks are planned and encoded. */
  clip?: { start: number; end: number }
  /** The job's watermark: its placement goes into the plan, its PNG is the job's copy. */
  watermark?: Watermark
  /** `normalize_audio`: the audio item measures its loudness, then normalises (encodePlan). */
  normalizeAudio?: boolean
}

/** The files the chunked encode made for the job, as processJob's tail describes and publishes them. */
export interface Encoded {
  written: FfmpegRun['outputs']
  skipped: EncodePlan['skipped']
  /**
   * Folders published while the job was encoded that its outputs no longer name (the growing
   * stream's segments and playlists), kept for the players that started on them, then removed.
   */
  leftovers?: string[]
  /** The packaged outputs (HLS, storyboard), once the renditions are described. */
  finish: (
    renditions: ReadonlyMap<string, Omit<Output, 'path'>>,
    duration: number | null,
  ) => Promise<Array<{ output: Omit<Output, 'path'>; files: ExtraFile[] }>>
}

/** How often the coordinator reads its items' state. */
const FOLLOW_MS = 250
/** How often it queues again items whose entries were lost (a stream trimmed, a Redis failover). */
const REQUEUE_MS = 10_000

/** Run job `jobId`'s encode in chunks; returns what it wrote in `outDir`. */
export async function encodeInChunks(
  jobId: string,
  input: string,
  probe: Probe,
  profiles: readonly Profile[],
  dirs: { work: string; out: string },
  ctx: CoordinatorContext,
): Promise<Encoded> {
  const { chunking, logger } = ctx
  const known = await chunking.work.read(jobId)
  let plan: EncodePlan
  if (known) {
    plan = JSON.parse(known.plan) as EncodePlan
    if (!(await chunking.work.plan(chunking.claim, known.plan, []))) throw ctx.lost()
    logger.info('chunked encode picked up', { chunks: plan.chunks.length })
  } else {
    plan = await cut(jobId, input, probe, profiles, dirs.work, ctx)
  }
  chunking.release()
  await follow(jobId, plan, dirs.out, ctx)
  return assemble(jobId, plan, dirs, ctx)
}

/** Plan, split the source into parts (stream copy), keep them as pieces, queue the items. */
async function cut(
  jobId: string,
  input: string,
  probe: Probe,
  profiles: readonly Profile[],
  work: string,
  ctx: CoordinatorContext,
): Promise<EncodePlan> {
  const { config, chunking, storage, logger } = ctx
  const limits = { timeoutMs: 600_000, signal: ctx.signal, memoryLimitMb: config.memoryLimitMb }
  const { stdout } = await runProcess(config.FFPROBE_PATH, keyframeArgs(input, probe), {
    ...limits,
    maxStdout: 512 * 1024 * 1024,
  })
  const packets = parsePackets(stdout)
  // What the packets hold, not what the header claims, read no further than the limit.
  const duration = Math.min(packets.end ?? probe.duration ?? 0, config.MAX_DURATION_SECONDS + 1)
  const plan = encodePlan(
    probe,
    profiles,
    { keyframes: packets.keyframes, duration, chunkSeconds: config.CHUNK_SECONDS, clip: ctx.clip },
    {
      hlsSegmentSeconds: config.HLS_SEGMENT_SECONDS,
      storyboardInterval: config.STORYBOARD_INTERVAL,
      lease: chunking.claim.lease,
      asked: ctx.asked,
      normalizeAudio: ctx.normalizeAudio,
    },
  )
  if (ctx.watermark) plan.watermark = ctx.watermark
  const parts = join(work, 'parts')
  await mkdir(parts, { recursive: true })
  const started = performance.now()
  await runProcess(
    config.FFMPEG_PATH,
    splitArgs(
      input,
      probe,
      plan,
      join(parts, 'part-%05d.mkv'),
      plan.audioPart ? join(parts, 'audio') : undefined,
    ),
    { ...limits, timeoutMs: 3600_000, nice: config.FFMPEG_NICE },
  )
  for (const part of plan.parts)
    await storage.putPiece(jobId, part.piece, join(parts, `part-${String(part.index).padStart(5, '0')}.mkv`))
  if (plan.audioPart) await storage.putPiece(jobId, plan.audioPart, join(parts, 'audio'))
  const queued = await chunking.work.plan(chunking.claim, JSON.stringify(plan), planItems(plan))
  if (!queued) throw ctx.lost()
  logger.info('chunked encode planned', {
    duration,
    chunks: plan.chunks.length,
    parts: plan.parts.length,
    split_ms: Math.round(performance.now() - started),
  })
  return plan
}

/**
 * Follow the items until every one is done: progress about once a second, the HLS stream
 * published as the done chunks grow from the first, items whose entries were lost queued again.
 * A failed item (out of attempts, or a permanent error) fails the job.
 */
async function follow(
  jobId: string,
  plan: EncodePlan,
  outDir: string,
  ctx: CoordinatorContext,
): Promise<void> {
  const { chunking, logger } = ctx
  const started = performance.now()
  /** What the published playlists hold: `{chunks} {audio segments}`. */
  let published = ''
  let lastReport = 0
  let reported = -1
  let lastRequeue = performance.now()
  for (;;) {
    ctx.signal.throwIfAborted()
    const record = await chunking.work.read(jobId)
    if (!record) throw ctx.lost()
    const failed = record.items.find((i) => i.state === 'failed')
    if (failed) {
      throw new PermanentJobError(
        failed.code || 'chunk_failed',
        `${failed.name === AUDIO_ITEM ? 'The audio' : `Chunk ${failed.name}`} failed: ${failed.error ?? 'unknown error'}`,
      )
    }
    const state = new Map(record.items.map((i) => [i.name, i]))
    let prefix = 0
    while (prefix < plan.chunks.length && state.get(chunkItem(prefix))?.state === 'done') prefix++
    const audioItem = state.get(AUDIO_ITEM)
    const audioDone = !plan.audioPart || audioItem?.state === 'done'
    const audio = audioShare(plan, record)
    const now = performance.now()
    if (now - lastReport >= 1000) {
      lastReport = now
      const encoded = plan.chunks.reduce((sum, chunk) => {
        const item = state.get(chunkItem(chunk.index))
        const length = chunk.end - chunk.start
        return sum + (item?.state === 'done' ? length : Math.min(length, item?.at ?? 0))
      }, 0)
      // With normalize_audio, the audio item (measured, then encoded) counts too.
      const { done, total } = chunkedProgress(plan, encoded, audioItem)
      // The assembly is left at the end: 99.9 at most until the job completes.
      const percent = Math.min(99.9, progressPercent(done, total) ?? 0)
      const rate = done / ((now - started) / 1000)
      // Only when it moved: an event a second that says the same thing tells a viewer nothing.
      if (percent > reported) ctx.onProgress?.(percent, rate > 0 ? Math.round((total - done) / rate) : null)
      reported = Math.max(reported, percent)
    }
    // Published once the first chunk is in and the audio covers it (the audio is published as
    // it is encoded), then at each chunk and each audio segment more.
    const covered = audioDone ? Number.POSITIVE_INFINITY : seconds(audio?.segments ?? [])
    const shape = `${prefix} ${audio?.segments.length ?? 0}`
    if (plan.hls && prefix > 0 && covered >= (plan.chunks[0]?.end ?? 0) - 0.05 && shape !== published) {
      await publishStream(jobId, plan, record, prefix, outDir, ctx)
      if (published === '' && (await chunking.work.playable(chunking.claim, new Date()))) {
        const ttp = (Date.now() - ctx.createdAt.getTime()) / 1000
        ctx.metrics.timeToPlayable.observe(ttp)
        logger.info('job playable', { time_to_playable_s: Math.round(ttp * 10) / 10, chunks: prefix })
      }
      published = shape
    }
    if (prefix === plan.chunks.length && audioDone) return
    if (now - lastRequeue >= REQUEUE_MS) {
      lastRequeue = now
      if (!(await chunking.work.plan(chunking.claim, '', []))) throw ctx.lost()
    }
    await sleep(FOLLOW_MS, ctx.signal)
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms)
    function done() {
      signal.removeEventListener('abort', aborted)
      resolve()
    }
    function aborted() {
      clearTimeout(timer)
      reject(signal.reason)
    }
    signal.addEventListener('abort', aborted, { once: true })
  })
}
