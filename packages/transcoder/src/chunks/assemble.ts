/**
 * The end of a chunked encode: every rendition from its chunks and the audio by stream copy, the
 * thumbnail and the storyboard's tiles from the chunks that made them (no decode of the source),
 * and, once the renditions are described, the final HLS stream and the storyboard's sheets.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import {
  type ChunkJobRecord,
  type ImageProfile,
  type Output,
  outputFileName,
  type VideoProfile,
} from '@vpp/shared'
import {
  audioRemuxArgs,
  type FfmpegRun,
  renditionSize,
  type StoryboardPlan,
  sheetRun,
  thumbnailSize,
} from '../ffmpeg-args/index.ts'
import { runProcess } from '../ffmpeg-process.ts'
import { finishHls, finishStoryboard } from '../packaging.ts'
import { assembleArgs, concatList } from './args.ts'
import type { CoordinatorContext, Encoded } from './coordinate.ts'
import { type AudioResult, audioKey, type ChunkResult } from './encode-item.ts'
import { AUDIO_ITEM, chunkItem, type EncodePlan } from './encode-plan.ts'
import { resultOf, writeStream } from './stream.ts'

type Written = FfmpegRun['outputs'][number]
type Finished = Awaited<ReturnType<Encoded['finish']>>
/** A piece of the job's, as a local file in the work directory. */
type LocalPiece = (piece: string) => Promise<string>
/** One ffmpeg run of the assembly. */
type Run = (args: string[]) => Promise<unknown>

/** The job's outputs from its recorded chunks (the coordinator's last step). */
export async function assemble(
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
  const local: LocalPiece = (piece) => storage.localPiece(jobId, piece, pieces)
  const chunks = plan.chunks.map((c) => {
    const result = resultOf<ChunkResult>(record, chunkItem(c.index))
    if (!result) throw new Error(`chunk ${c.index} has no result`)
    return result
  })
  const audio = plan.audioPart ? resultOf<AudioResult>(record, AUDIO_ITEM) : null
  const written: Written[] = []
  const run: Run = (args) =>
    runProcess(config.FFMPEG_PATH, args, {
      timeoutMs: 3600_000,
      signal: ctx.signal,
      nice: config.FFMPEG_NICE,
      memoryLimitMb: config.memoryLimitMb,
    })
  for (const profile of plan.videos)
    written.push(await assembleRendition(profile, plan, chunks, audio, { local, run, pieces, out: dirs.out }))
  if (plan.hls)
    written.push({ profile: plan.hls.profile, path: join(dirs.out, plan.hls.profile, 'master.m3u8') })
  if (plan.audioOnly && audio)
    written.push(await assembleAudioOnly(plan, plan.audioOnly, audio, { local, run, out: dirs.out }))
  const thumbPiece = chunks.find((c) => c.thumbnail)?.thumbnail
  if (plan.thumbnail && thumbPiece) {
    const thumbnail = plan.thumbnail
    const path = join(dirs.out, outputFileName(thumbnail.profile as ImageProfile))
    await copyFile(await local(thumbPiece), path)
    written.push({
      profile: thumbnail.profile.name,
      path,
      media: { ...thumbnailSize(thumbnail.profile, plan.probe), codec: 'mjpeg' },
    })
  }
  const board = plan.storyboard ? await copyTiles(plan.storyboard, chunks, local, dirs.out) : undefined
  if (board) written.push({ profile: board.profile, path: join(dirs.out, `${board.profile}.vtt`) })
  const hls = plan.hls
  return {
    written,
    skipped: plan.skipped,
    // The growing stream's folders (its segments, and its playlists, ended below).
    leftovers: hls
      ? [...hls.rungs, ...(audio ? ['audio'] : [])].map((f) => `${hls.profile}/${f}`)
      : undefined,
    finish: (renditions, duration) => finish(plan, record, dirs.out, board, run, renditions, duration),
  }
}

/** One rendition: its chunks' pieces concatenated, with the audio of its codec, by stream copy. */
async function assembleRendition(
  profile: VideoProfile,
  plan: EncodePlan,
  chunks: readonly ChunkResult[],
  audio: AudioResult | null,
  how: { local: LocalPiece; run: Run; pieces: string; out: string },
): Promise<Written> {
  const paths: string[] = []
  for (const chunk of chunks) {
    const piece = chunk.renditions[profile.name]?.piece
    if (!piece) throw new Error(`a chunk has no ${profile.name}`)
    // Absolute: the concat demuxer reads a relative name from the list's own folder.
    paths.push(resolve(await how.local(piece)))
  }
  const list = resolve(how.pieces, `${profile.name}.ffconcat`)
  await writeFile(list, concatList(paths))
  const key = audioKey({
    codec: profile.container === 'webm' ? 'opus' : 'aac',
    kbps: profile.audioBitrateKbps,
  })
  const audioPiece = audio?.pieces[key]
  const audioPath = audioPiece ? await how.local(audioPiece) : null
  const path = join(how.out, outputFileName(profile))
  await how.run(
    assembleArgs(list, audioPath, profile.container, path, plan.hls?.rungs.includes(profile.name)),
  )
  return {
    profile: profile.name,
    path,
    media: { ...renditionSize(profile, plan.probe), codec: profile.codec },
  }
}

/** The audio alone (`audio.m4a`): the audio item's AAC encode of its bitrate, copied (audioRemuxArgs). */
async function assembleAudioOnly(
  plan: EncodePlan,
  audioOnly: NonNullable<EncodePlan['audioOnly']>,
  audio: AudioResult,
  how: { local: LocalPiece; run: Run; out: string },
): Promise<Written> {
  const piece = audio.pieces[audioKey({ codec: 'aac', kbps: audioOnly.kbps })]
  if (!piece) throw new Error(`the audio has no AAC at ${audioOnly.kbps} kbps`)
  const path = join(how.out, `${audioOnly.profile}.m4a`)
  await how.run(audioRemuxArgs(await how.local(piece), path, plan.hls?.segmentSeconds))
  return { profile: audioOnly.profile, path, media: { width: null, height: null, codec: 'aac' } }
}

/** The storyboard's tiles in `outDir`, in the whole video's order; its plan, with where they are. */
async function copyTiles(
  storyboard: Omit<StoryboardPlan, 'tilePattern' | 'sheetPattern'>,
  chunks: readonly ChunkResult[],
  local: LocalPiece,
  outDir: string,
): Promise<StoryboardPlan> {
  const board = {
    ...storyboard,
    tilePattern: join(outDir, `${storyboard.profile}-tile-%05d.jpg`),
    sheetPattern: join(outDir, `${storyboard.profile}-%d.jpg`),
  }
  // The tiles in the whole video's order, numbered from 1 (tile k is file k + 1).
  let k = 0
  for (const chunk of chunks) {
    for (const piece of chunk.tiles.pieces) {
      k++
      const to = board.tilePattern.replace('%05d', String(k).padStart(5, '0'))
      await copyFile(await local(piece), to)
    }
  }
  board.tiles = k
  return board
}

/** The packaged outputs (HLS, storyboard), once the renditions are described. */
async function finish(
  plan: EncodePlan,
  record: ChunkJobRecord,
  outDir: string,
  board: StoryboardPlan | undefined,
  run: Run,
  renditions: ReadonlyMap<string, Omit<Output, 'path'>>,
  duration: number | null,
): Promise<Finished> {
  const finished: Finished = []
  const hls = plan.hls
  if (hls) {
    // The growing stream ends (VOD) under its own names, so that a player that started on it
    // plays on; its segments are kept a while (leftovers). Then the stream from now on: byte
    // ranges of the MP4s just assembled, and a master of its own (what new players load).
    const { files: growing } = await writeStream(plan, record, plan.chunks.length, outDir, true, true)
    const final = await finishHls(
      {
        profile: hls.profile,
        dir: join(outDir, hls.profile),
        variants: hls.rungs.map((rung) => ({ profile: rung, playlist: `${rung}.m3u8` })),
        ...(plan.audioOnly && renditions.has(plan.audioOnly.profile)
          ? { audio: { profile: plan.audioOnly.profile, playlist: `${plan.audioOnly.profile}.m3u8` } }
          : {}),
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
    finished.push(await finishStoryboard(board, outDir, duration ?? plan.duration))
  }
  return finished
}
