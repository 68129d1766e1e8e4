/**
 * One work item of a chunked encode, on whichever transcoder took it: a chunk (its part of the
 * source to every video rendition from one decode, its HLS segments moved onto the stream's
 * timeline and published, its storyboard tiles, the thumbnail when it holds the pick), or the
 * audio (once, for the whole duration). Every file is named for the item and its lease, so two
 * attempts never write the same name, and only the attempt recorded is ever named by a playlist
 * or assembled.
 */
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { jobAssetName, type Logger, MEDIA_TYPES, type MediaStorage, outputFileName } from '@vpp/shared'
import type { TranscoderConfig } from '../config.ts'
import { watermarkPaths } from '../ffmpeg-args/index.ts'
import { runProcess } from '../ffmpeg-process.ts'
import { avcCodec, playlistSegments } from '../packaging.ts'
import { progressParser } from '../progress.ts'
import { ffmpegTimeoutMs } from '../retry-policy.ts'
import { type AudioOutput, audioArgs, type ChunkOutput, chunkArgs, chunkTiles } from './args.ts'
import { measureAudioPart } from './audio-loudness.ts'
import { AUDIO_ITEM, type EncodePlan } from './encode-plan.ts'
import { shiftSegment, trackTimescale } from './fragments.ts'

/** An HLS rendition's share of one item: its init segment, its segments (relative to the rung). */
export interface HlsShare {
  init: string
  codecs: string
  segments: Array<{ uri: string; seconds: number; bytes: number }>
}

export interface ChunkResult {
  /** Seconds the chunk encoded (its stretch). */
  seconds: number
  /** Each video rendition's chunk file: a piece, and its size. */
  renditions: Record<string, { piece: string; bytes: number }>
  /** Each HLS rung's segments, published under `{hls}/{rung}/`. */
  hls: Record<string, HlsShare>
  /** Storyboard tiles: k of the first (tile k is at k x interval), and their pieces in order. */
  tiles: { first: number; pieces: string[] }
  thumbnail: string | null
}

export interface AudioResult {
  /** Each audio encode (`aac-128`): a piece. */
  pieces: Record<string, string>
  /** The HLS audio rendition, published under `{hls}/audio/`. */
  hls: HlsShare | null
}

export interface ItemContext {
  jobId: string
  config: TranscoderConfig
  storage: MediaStorage
  logger: Logger
  signal: AbortSignal
  /**
   * Seconds of the item's stretch encoded so far, as ffmpeg reports them, about once a second;
   * with what the item has published so far (the audio's HLS segments, JSON).
   */
  onProgress?: (seconds: number, partial?: string) => void
  /** How an encoder's failure is told (process-job's: paths scrubbed, disk full and limits named). */
  explain: (error: unknown, paths: Record<string, string>) => unknown
}

export const audioKey = (output: { codec: string; kbps: number }) => `${output.codec}-${output.kbps}`

/** Encode item `item` of `plan` under `lease`; returns what is to be recorded (JSON). */
export async function encodeItem(
  plan: EncodePlan,
  item: string,
  lease: string,
  ctx: ItemContext,
): Promise<ChunkResult | AudioResult> {
  const work = await ctx.storage.workDir(ctx.jobId, item)
  try {
    return item === AUDIO_ITEM
      ? await encodeAudio(plan, `audio-l${lease}`, work, ctx)
      : await encodeChunk(plan, Number(item.slice(1)), `${item}-l${lease}`, work, ctx)
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

async function encodeChunk(
  plan: EncodePlan,
  index: number,
  name: string,
  work: string,
  ctx: ItemContext,
): Promise<ChunkResult> {
  const { storage, jobId, config } = ctx
  const chunk = plan.chunks[index]
  const part = chunk && plan.parts[chunk.part]
  if (!chunk || !part) throw new Error(`the plan has no chunk ${index}`)
  const partPath = await storage.localPiece(jobId, part.piece, work)
  const watermark = plan.watermark && {
    path: await storage.localAsset(jobAssetName(jobId, 'watermark.png'), work),
    placement: plan.watermark,
  }
  const outputs = await chunkOutputs(plan, name, work)
  const board = plan.storyboard
  const tiles = board ? chunkTiles(chunk, board.interval) : { first: 0, count: 0 }
  const thumb = plan.thumbnail
  const thumbnailPath = join(work, `${name}-thumbnail.jpg`)
  const holdsThumbnail = thumb !== null && thumb.at >= chunk.start && thumb.at < chunk.end
  const args = chunkArgs({ path: partPath, part }, chunk, plan.probe, outputs, {
    threads: config.threads,
    fps: plan.fps,
    // A clip's last chunk ends at the clip's end, not at the part's.
    toEnd: index === plan.chunks.length - 1 && !plan.clip,
    tiles: board
      ? {
          interval: board.interval,
          width: board.tileWidth,
          height: board.tileHeight,
          pattern: join(work, `${name}-tile-%05d.jpg`),
        }
      : undefined,
    thumbnail: thumb ? { profile: thumb.profile, at: thumb.at, path: thumbnailPath } : undefined,
    watermark,
  })
  await encode(args, ctx, { [partPath]: 'part', [work]: 'output', ...watermarkPaths(watermark) })

  const result: ChunkResult = {
    seconds: chunk.end - chunk.start,
    renditions: {},
    hls: {},
    tiles: { first: tiles.first, pieces: [] },
    thumbnail: null,
  }
  for (const output of outputs) {
    const piece = `${name}-${outputFileName(output.profile)}`
    const bytes = (await stat(output.path)).size
    // Lost meanwhile (taken over, canceled): nothing more is stored.
    ctx.signal.throwIfAborted()
    await storage.putPiece(jobId, piece, output.path)
    result.renditions[output.profile.name] = { piece, bytes }
    if (output.hls && plan.hls) {
      result.hls[output.profile.name] = await publishShare(
        plan.hls.profile,
        output.profile.name,
        output.hls.dir,
        name,
        chunk.start,
        ctx,
      )
    }
  }
  // The tiles ffmpeg wrote (the last chunk's may hold one fewer than planned, or more).
  const tileFiles = (await readdir(work)).filter((f) => f.startsWith(`${name}-tile-`)).sort()
  for (const file of tileFiles) {
    await storage.putPiece(jobId, file, join(work, file))
    result.tiles.pieces.push(file)
  }
  if (holdsThumbnail) {
    await storage.putPiece(jobId, `${name}-thumbnail.jpg`, thumbnailPath)
    result.thumbnail = `${name}-thumbnail.jpg`
  }
  return result
}

/** Where a chunk's renditions go in `work` (an HLS rung's segments in a folder of its own, made). */
async function chunkOutputs(plan: EncodePlan, name: string, work: string): Promise<ChunkOutput[]> {
  const rungs = new Set(plan.hls?.rungs ?? [])
  const outputs: ChunkOutput[] = []
  for (const profile of plan.videos) {
    const hls = rungs.has(profile.name) && plan.hls
    if (hls) await mkdir(join(work, 'hls', profile.name), { recursive: true })
    outputs.push({
      profile,
      path: join(work, `${name}-${outputFileName(profile)}`),
      hls: hls
        ? { dir: join(work, 'hls', profile.name), name, segmentSeconds: hls.segmentSeconds }
        : undefined,
    })
  }
  return outputs
}

async function encodeAudio(
  plan: EncodePlan,
  name: string,
  work: string,
  ctx: ItemContext,
): Promise<AudioResult> {
  const { storage, jobId } = ctx
  if (!plan.audioPart) throw new Error('the plan has no audio')
  const partPath = await storage.localPiece(jobId, plan.audioPart, work)
  const { loudness, at } = await measureAudioPart(plan, partPath, ctx)
  const hlsDir = join(work, 'hls', 'audio')
  const outputs: AudioOutput[] = plan.audio.map((audio) => ({
    ...audio,
    path: join(work, `${name}-${audioKey(audio)}.${audio.codec === 'aac' ? 'm4a' : 'webm'}`),
    hls:
      plan.hls && audio.codec === 'aac' && audio.kbps === plan.hls.audioKbps
        ? { dir: hlsDir, name, segmentSeconds: plan.hls.segmentSeconds, live: true }
        : undefined,
  }))
  const hls = outputs.find((o) => o.hls)
  if (hls) await mkdir(hlsDir, { recursive: true })
  // The HLS audio is published as the encoder writes it, so that a long video plays before its
  // whole audio is encoded: each segment once the muxer has listed it, recorded as `partial`.
  const live = hls && plan.hls ? liveShare(plan.hls.profile, hlsDir, name, ctx) : null
  await encode(
    audioArgs(partPath, outputs, plan.audioFormat, plan.clip, loudness),
    { ...ctx, onProgress: (seconds) => live?.poll(at(seconds)) ?? ctx.onProgress?.(at(seconds)) },
    {
      [partPath]: 'part',
      [work]: 'output',
    },
  )
  const result: AudioResult = { pieces: {}, hls: null }
  if (live) result.hls = await live.finish()
  for (const output of outputs) {
    const piece = `${name}-${audioKey(output)}.${output.codec === 'aac' ? 'm4a' : 'webm'}`
    await storage.putPiece(jobId, piece, output.path)
    result.pieces[audioKey(output)] = piece
  }
  return result
}

/**
 * The HLS audio published while it is encoded: at each poll, the segments the muxer has listed
 * in its playlist (a segment is listed once written whole) and not yet published are, in order;
 * `finish` publishes the rest once the run is over.
 */
function liveShare(hls: string, dir: string, name: string, ctx: ItemContext) {
  const share: HlsShare = { init: `${name}-init.mp4`, codecs: 'mp4a.40.2', segments: [] }
  let initPublished = false
  let chain = Promise.resolve()
  let busy = false
  const publishListed = async () => {
    const listed = playlistSegments(await readFile(join(dir, `${name}.m3u8`), 'utf8').catch(() => ''))
    const fresh = listed.slice(share.segments.length)
    if (fresh.length === 0) return false
    const files = [...(initPublished ? [] : [share.init]), ...fresh.map((s) => s.uri)]
    const sizes = await Promise.all(fresh.map(async (s) => (await stat(join(dir, s.uri))).size))
    await ctx.storage.publish(
      ctx.jobId,
      files.map((file) => ({
        name: `${hls}/audio/${file}`,
        path: join(dir, file),
        contentType: contentTypeOf(file),
      })),
      ctx.signal,
    )
    initPublished = true
    share.segments.push(...fresh.map((segment, i) => ({ ...segment, bytes: sizes[i] ?? 0 })))
    return true
  }
  return {
    poll(seconds: number) {
      if (busy) return
      busy = true
      chain = chain
        .then(async () => {
          const published = await publishListed()
          ctx.onProgress?.(seconds, published ? JSON.stringify(share) : undefined)
        })
        .catch((error: unknown) =>
          ctx.logger.warn('publishing audio segments failed', { error: String(error) }),
        )
        .finally(() => {
          busy = false
        })
    },
    async finish(): Promise<HlsShare> {
      await chain
      await publishListed()
      return share
    },
  }
}

const contentTypeOf = (file: string) => MEDIA_TYPES[file.split('.').pop() ?? ''] ?? 'application/octet-stream'

/**
 * An item's segments of one HLS rendition, moved `start` seconds onto the stream's timeline
 * (ffmpeg starts every run's fragments at 0) and published with their init segment, under names
 * no other attempt uses; what the playlists need of them is returned.
 */
async function publishShare(
  hls: string,
  rung: string,
  dir: string,
  name: string,
  start: number,
  ctx: ItemContext,
): Promise<HlsShare> {
  const initName = `${name}-init.mp4`
  const init = await readFile(join(dir, initName))
  const timescale = trackTimescale(init)
  const ticks = BigInt(Math.round(start * timescale))
  const segments = playlistSegments(await readFile(join(dir, `${name}.m3u8`), 'utf8'))
  const share: HlsShare = {
    init: initName,
    codecs: rung === 'audio' ? 'mp4a.40.2' : avcCodec(init),
    segments: [],
  }
  for (const segment of segments) {
    const path = join(dir, segment.uri)
    const moved = ticks === 0n ? await readFile(path) : shiftSegment(await readFile(path), ticks, timescale)
    if (ticks !== 0n) await writeFile(path, moved)
    share.segments.push({ ...segment, bytes: moved.length })
  }
  const files = [initName, ...segments.map((s) => s.uri)].map((file) => ({
    name: `${hls}/${rung}/${file}`,
    path: join(dir, file),
    contentType: contentTypeOf(file),
  }))
  await ctx.storage.publish(ctx.jobId, files, ctx.signal)
  return share
}

/** One encoder run of an item, under the job's limits, its progress passed on. */
async function encode(args: string[], ctx: ItemContext, paths: Record<string, string>): Promise<void> {
  const { config } = ctx
  const timeoutMs = ffmpegTimeoutMs(config.FFMPEG_TIMEOUT, config.MAX_DURATION_SECONDS)
  await runProcess(config.FFMPEG_PATH, args, {
    timeoutMs,
    signal: ctx.signal,
    maxStdout: 0,
    nice: config.FFMPEG_NICE,
    memoryLimitMb: config.memoryLimitMb,
    stallTimeoutMs: config.FFMPEG_STALL_SECONDS * 1000,
    onLine: progressParser(({ outTime }) => ctx.onProgress?.(outTime)),
  }).catch((error: unknown) => {
    throw ctx.explain(error, {
      ...Object.fromEntries(Object.entries(paths).map(([p, n]) => [`file:${p}`, n])),
      ...paths,
    })
  })
}
