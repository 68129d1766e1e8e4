/**
 * The coordinator of a chunked encode: the transcoder holding the job (its lease) plans it, cuts
 * the source into parts, queues the work items, and, its slot given back while it waits, follows
 * them: progress from every running item, the HLS stream published as chunks complete in order
 * (EVENT playlists that grow, `job.playable` once the first chunk is in), and at the end the
 * renditions assembled by stream copy. A takeover (its transcoder died) or a retry from the
 * dead-letter queue picks up the recorded plan and redoes only what was not recorded.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import {
  type ChunkJobRecord,
  type ChunkWork,
  type Claim,
  type ImageProfile,
  type Logger,
  MEDIA_TYPES,
  type MediaStorage,
  type Output,
  outputFileName,
  PermanentJobError,
  type Profile,
  type TranscoderMetrics,
} from '@vpp/shared'
import type { TranscoderConfig } from '../config.ts'
import {
  type FfmpegRun,
  renditionSize,
  type StoryboardPlan,
  sheetRun,
  thumbnailSize,
} from '../ffmpeg-args/index.ts'
import { runProcess } from '../ffmpeg-process.ts'
import {
  bandwidths,
  type ExtraFile,
  finishHls,
  finishStoryboard,
  masterPlaylist,
  type Variant,
} from '../packaging.ts'
import type { Probe } from '../probe.ts'
import { progressPercent } from '../progress.ts'
import { assembleArgs, concatList, splitArgs } from './args.ts'
import { type AudioResult, audioKey, type ChunkResult, type HlsShare } from './encode-item.ts'
import { AUDIO_ITEM, chunkItem, type EncodePlan, encodePlan, planItems } from './encode-plan.ts'
import { keyframeArgs, parsePackets } from './plan.ts'
import { mediaPlaylist } from './playlist.ts'

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
    { keyframes: packets.keyframes, duration, chunkSeconds: config.CHUNK_SECONDS },
    {
      hlsSegmentSeconds: config.HLS_SEGMENT_SECONDS,
      storyboardInterval: config.STORYBOARD_INTERVAL,
      lease: chunking.claim.lease,
      asked: ctx.asked,
    },
  )
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

/** An item's recorded result, parsed. */
function resultOf<T>(record: ChunkJobRecord, item: string): T | null {
  const found = record.items.find((i) => i.name === item)
  return found?.state === 'done' && found.result ? (JSON.parse(found.result) as T) : null
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
      // The assembly is left at the end: 99.9 at most until the job completes.
      const percent = Math.min(99.9, progressPercent(encoded, plan.duration) ?? 0)
      const rate = encoded / ((now - started) / 1000)
      // Only when it moved: an event a second that says the same thing tells a viewer nothing.
      if (percent > reported)
        ctx.onProgress?.(percent, rate > 0 ? Math.round((plan.duration - encoded) / rate) : null)
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

/** Seconds of a list of segments. */
const seconds = (segments: ReadonlyArray<{ seconds: number }>) =>
  segments.reduce((sum, s) => sum + s.seconds, 0)

/** The HLS audio published so far: all of it once the audio item is done, else what it recorded. */
function audioShare(plan: EncodePlan, record: ChunkJobRecord): HlsShare | null {
  if (!plan.audioPart || !plan.hls) return null
  const done = resultOf<AudioResult>(record, AUDIO_ITEM)
  if (done) return done.hls
  const partial = record.items.find((i) => i.name === AUDIO_ITEM)?.partial
  return partial ? (JSON.parse(partial) as HlsShare) : null
}

/** The HLS presentation's playlists over the first `prefix` chunks (written in `outDir`). */
async function writeStream(
  plan: EncodePlan,
  record: ChunkJobRecord,
  prefix: number,
  outDir: string,
  ended: boolean,
  measured: boolean,
): Promise<{ files: ExtraFile[]; variants: Variant[] }> {
  const hls = plan.hls
  if (!hls) return { files: [], variants: [] }
  const dir = join(outDir, hls.profile)
  const chunks = plan.chunks.slice(0, prefix).map((c) => resultOf<ChunkResult>(record, chunkItem(c.index)))
  const audio = audioShare(plan, record)
  const files: ExtraFile[] = []
  const write = async (name: string, text: string) => {
    await mkdir(join(dir, name, '..'), { recursive: true })
    await writeFile(join(dir, name), text)
    files.push({ name: `${hls.profile}/${name}`, path: join(dir, name) })
  }
  const maxSegmentSeconds = hls.segmentSeconds + 2
  const end = plan.chunks[prefix - 1]?.end ?? 0
  let audioPeak = 0
  let audioAverage = 0
  if (audio) {
    // The audio that the video published so far covers (all of it once ended).
    let at = 0
    const segments = audio.segments.filter((s) => {
      const starts = at
      at += s.seconds
      return ended || starts < end
    })
    await write('audio/index.m3u8', mediaPlaylist({ init: audio.init, segments, ended, maxSegmentSeconds }))
    ;({ peak: audioPeak, average: audioAverage } = bandwidths(audio.segments))
  }
  const variants: Variant[] = []
  for (const rung of hls.rungs) {
    const shares = chunks.map((c) => c?.hls[rung]).filter((s): s is HlsShare => s !== undefined)
    const first = shares[0]
    if (!first) throw new Error(`HLS rung ${rung} has no first chunk`)
    const segments = shares.flatMap((s) => s.segments)
    await write(`${rung}/index.m3u8`, mediaPlaylist({ init: first.init, segments, ended, maxSegmentSeconds }))
    const profile = plan.videos.find((v) => v.name === rung)
    if (!profile) throw new Error(`HLS rung ${rung} is not a rendition`)
    // Until every segment is in, the cap the encoder keeps to (capped CRF) stands for the peak.
    const video = measured
      ? bandwidths(segments)
      : { peak: profile.videoBitrateKbps * 1000, average: profile.videoBitrateKbps * 1000 }
    variants.push({
      playlist: `${rung}/index.m3u8`,
      bandwidth: video.peak + (measured ? audioPeak : (hls.audioKbps ?? 0) * 1000),
      averageBandwidth: video.average + (measured ? audioAverage : (hls.audioKbps ?? 0) * 1000),
      ...renditionSize(profile, plan.probe),
      frameRate: Number(plan.fps ?? plan.probe.frameRate) || null,
      codecs: [first.codecs, ...(audio ? [audio.codecs] : [])].join(','),
    })
  }
  await write('master.m3u8', masterPlaylist(variants, audio ? { playlist: 'audio/index.m3u8' } : undefined))
  return { files, variants }
}

/** Publish the growing stream (short-lived playlists; the segments are published by their items). */
async function publishStream(
  jobId: string,
  plan: EncodePlan,
  record: ChunkJobRecord,
  prefix: number,
  outDir: string,
  ctx: CoordinatorContext,
): Promise<void> {
  const { files } = await writeStream(plan, record, prefix, outDir, false, false)
  await ctx.storage.publish(
    jobId,
    files.map((f) => ({ ...f, contentType: MEDIA_TYPES.m3u8 as string })),
    ctx.signal,
  )
}

/**
 * Every rendition from its chunks and the audio by stream copy, the thumbnail and the storyboard's
 * tiles from the chunks that made them: no decode of the source.
 */
async function assemble(
  jobId: string,
  plan: EncodePlan,
  dirs: { work: string; out: string },
  ctx: CoordinatorContext,
): Promise<Encoded> {
  const { config, storage, chunking } = ctx
  const record = await chunking.work.read(jobId)
  if (!record) throw ctx.lost()
  const pieces = join(dirs.work, 'pieces')
  await mkdir(pieces, { recursive: true })
  const chunks = plan.chunks.map((c) => {
    const result = resultOf<ChunkResult>(record, chunkItem(c.index))
    if (!result) throw new Error(`chunk ${c.index} has no result`)
    return result
  })
  const audio = plan.audioPart ? resultOf<AudioResult>(record, AUDIO_ITEM) : null
  const written: FfmpegRun['outputs'] = []
  const run = (args: string[]) =>
    runProcess(config.FFMPEG_PATH, args, {
      timeoutMs: 3600_000,
      signal: ctx.signal,
      nice: config.FFMPEG_NICE,
      memoryLimitMb: config.memoryLimitMb,
    })
  for (const profile of plan.videos) {
    const paths: string[] = []
    for (const chunk of chunks) {
      const piece = chunk.renditions[profile.name]?.piece
      if (!piece) throw new Error(`a chunk has no ${profile.name}`)
      // Absolute: the concat demuxer reads a relative name from the list's own folder.
      paths.push(resolve(await storage.localPiece(jobId, piece, pieces)))
    }
    const list = resolve(pieces, `${profile.name}.ffconcat`)
    await writeFile(list, concatList(paths))
    const key = audioKey({
      codec: profile.container === 'webm' ? 'opus' : 'aac',
      kbps: profile.audioBitrateKbps,
    })
    const audioPiece = audio?.pieces[key]
    const audioPath = audioPiece ? await storage.localPiece(jobId, audioPiece, pieces) : null
    const path = join(dirs.out, outputFileName(profile))
    await run(assembleArgs(list, audioPath, profile.container, path, plan.hls?.rungs.includes(profile.name)))
    written.push({
      profile: profile.name,
      path,
      media: { ...renditionSize(profile, plan.probe), codec: profile.codec },
    })
  }
  if (plan.hls)
    written.push({ profile: plan.hls.profile, path: join(dirs.out, plan.hls.profile, 'master.m3u8') })
  const thumbnail = plan.thumbnail
  const thumbPiece = chunks.find((c) => c.thumbnail)?.thumbnail
  if (thumbnail && thumbPiece) {
    const path = join(dirs.out, outputFileName(thumbnail.profile as ImageProfile))
    await copyFile(await storage.localPiece(jobId, thumbPiece, pieces), path)
    written.push({
      profile: thumbnail.profile.name,
      path,
      media: { ...thumbnailSize(thumbnail.profile, plan.probe), codec: 'mjpeg' },
    })
  }
  let board: StoryboardPlan | undefined
  if (plan.storyboard) {
    board = {
      ...plan.storyboard,
      tilePattern: join(dirs.out, `${plan.storyboard.profile}-tile-%05d.jpg`),
      sheetPattern: join(dirs.out, `${plan.storyboard.profile}-%d.jpg`),
    }
    // The tiles in the whole video's order, numbered from 1 (tile k is file k + 1).
    let k = 0
    for (const chunk of chunks) {
      for (const piece of chunk.tiles.pieces) {
        k++
        const to = board.tilePattern.replace('%05d', String(k).padStart(5, '0'))
        await copyFile(await storage.localPiece(jobId, piece, pieces), to)
      }
    }
    board.tiles = k
    written.push({ profile: board.profile, path: join(dirs.out, `${board.profile}.vtt`) })
  }
  const hls = plan.hls
  return {
    written,
    skipped: plan.skipped,
    // The growing stream's folders (its segments, and its playlists, ended below).
    leftovers: hls
      ? [...hls.rungs, ...(audio ? ['audio'] : [])].map((f) => `${hls.profile}/${f}`)
      : undefined,
    finish: async (renditions, duration) => {
      const finished: Array<{ output: Omit<Output, 'path'>; files: ExtraFile[] }> = []
      if (hls) {
        // The growing stream ends (VOD) under its own names, so that a player that started on it
        // plays on; its segments are kept a while (leftovers). Then the stream from now on: byte
        // ranges of the MP4s just assembled, and a master of its own (what new players load).
        const { files: growing } = await writeStream(plan, record, plan.chunks.length, dirs.out, true, true)
        const final = await finishHls(
          {
            profile: hls.profile,
            dir: join(dirs.out, hls.profile),
            variants: hls.rungs.map((rung) => ({ profile: rung, playlist: `${rung}.m3u8` })),
          },
          renditions,
          plan.probe.hasAudio,
          Number(plan.fps ?? plan.probe.frameRate) || null,
          hls.segmentSeconds,
        )
        finished.push({
          output: { ...final.output, duration },
          // The master is a written output of its own (the job's `hls` entry).
          files: [...growing.filter((f) => f.name !== `${hls.profile}/master.m3u8`), ...final.files],
        })
      }
      if (board) {
        await run(sheetRun(board).args)
        finished.push(await finishStoryboard(board, dirs.out, duration ?? plan.duration))
      }
      return finished
    },
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
