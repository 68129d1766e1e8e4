/**
 * The HLS stream of a chunked encode, from the items' recorded results: the playlists over the
 * chunks done so far (EVENT playlists that grow while the job runs, VOD ones at the end), and
 * their publication while the job runs.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type ChunkJobRecord, MEDIA_TYPES, type MediaStorage } from '@vpp/shared'
import { renditionSize } from '../ffmpeg-args/index.ts'
import { bandwidths, type ExtraFile, masterPlaylist, type Variant } from '../packaging.ts'
import type { AudioResult, ChunkResult, HlsShare } from './encode-item.ts'
import { AUDIO_ITEM, chunkItem, type EncodePlan } from './encode-plan.ts'
import { mediaPlaylist } from './playlist.ts'

/** An item's recorded result, parsed. */
export function resultOf<T>(record: ChunkJobRecord, item: string): T | null {
  const found = record.items.find((i) => i.name === item)
  return found?.state === 'done' && found.result ? (JSON.parse(found.result) as T) : null
}

/** Seconds of a list of segments. */
export const seconds = (segments: ReadonlyArray<{ seconds: number }>) =>
  segments.reduce((sum, s) => sum + s.seconds, 0)

/** The HLS audio published so far: all of it once the audio item is done, else what it recorded. */
export function audioShare(plan: EncodePlan, record: ChunkJobRecord): HlsShare | null {
  if (!plan.audioPart || !plan.hls) return null
  const done = resultOf<AudioResult>(record, AUDIO_ITEM)
  if (done) return done.hls
  const partial = record.items.find((i) => i.name === AUDIO_ITEM)?.partial
  return partial ? (JSON.parse(partial) as HlsShare) : null
}

/** The HLS presentation's playlists over the first `prefix` chunks (written in `outDir`). */
export async function writeStream(
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
export async function publishStream(
  jobId: string,
  plan: EncodePlan,
  record: ChunkJobRecord,
  prefix: number,
  outDir: string,
  ctx: { storage: MediaStorage; signal: AbortSignal },
): Promise<void> {
  const { files } = await writeStream(plan, record, prefix, outDir, false, false)
  await ctx.storage.publish(
    jobId,
    files.map((f) => ({ ...f, contentType: MEDIA_TYPES.m3u8 as string })),
    ctx.signal,
  )
}
