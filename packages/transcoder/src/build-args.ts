/**
 * Pure: a job's ffmpeg runs, put together from the parts in `ffmpeg-args/` (the ladder, the
 * encoders, the input, the thumbnail and storyboard, HLS).
 */
import {
  type AudioProfile,
  type ImageProfile,
  outputFileName,
  type Profile,
  type StoryboardProfile,
  type VideoProfile,
} from '@vpp/shared'
import { FRAGMENTED_MP4 } from './byte-ranges.ts'
import {
  audioCodecArgs,
  audioOnlyArgs,
  audioSources,
  COMMON,
  containerArgs,
  type EncodeOptions,
  type FfmpegPlan,
  type FfmpegRun,
  type HlsPlan,
  inputArgs,
  ladder,
  outputFps,
  PROGRESS,
  type RunPaths,
  renditionSize,
  type Skipped,
  type StoryboardPlan,
  scaleFilter,
  sheetRun,
  storyboardPlan,
  thumbnailFilter,
  thumbnailSize,
  videoCodecArgs,
  videoHead,
  watermarkInputArgs,
} from './ffmpeg-args/index.ts'
import type { Probe } from './probe.ts'

/** The filter graph's branches after the split, and the outputs that map them, as they are added. */
interface Outputs {
  branches: string[]
  args: string[]
  files: FfmpegRun['outputs']
}

/**
 * Pure: the ffmpeg run that produces `profiles` from an input described by `probe`, and the
 * profiles skipped because they would upscale. No probing, no file access, no clock.
 *
 * One run decodes the input once and feeds, through a `split` filter graph, every video encoder,
 * the thumbnail (scaled first, then the representative frame picked) and the storyboard's tiles.
 * With `hls`, each H.264 encoder writes a fragmented MP4 whose byte ranges its HLS rung names
 * (finishHls): one file, no second encode. A profile's height is the rendition's short side, so a
 * portrait video gets portrait renditions.
 */
export function buildArgs(
  paths: RunPaths,
  profiles: readonly Profile[],
  probe: Probe,
  options: EncodeOptions = { threads: 0 },
): FfmpegPlan {
  const { videos, skipped } = ladder(profiles, probe, options.asked)
  const hls = hlsPlan(paths, profiles, videos, skipped)
  const thumbnail = profiles.find((p): p is ImageProfile => p.kind === 'image')
  const board = profiles.find((p): p is StoryboardProfile => p.kind === 'storyboard')
  const storyboard = board ? storyboardPlan(paths, board, probe, options) : undefined
  if (board && !storyboard) skipped.push({ profile: board.name, reason: 'the input has no known duration' })

  const audioOnly = profiles.find((p): p is AudioProfile => p.kind === 'audio')
  if (audioOnly && !probe.hasAudio)
    skipped.push({ profile: audioOnly.name, reason: 'the source has no audio' })
  const m4a = audioOnly && probe.hasAudio ? audioOnly : undefined
  const out: Outputs = { branches: [], args: [], files: [] }
  // Every audio output reads the source's first track, or its normalised copy (normalize_audio).
  const audio = audioSources('0:a:0', probe.hasAudio ? videos.length + (m4a ? 1 : 0) : 0, options.loudness)
  addVideos(out, paths, videos, probe, options, hls, audio.maps)
  if (hls) out.files.push({ profile: hls.profile, path: `${hls.dir}/master.m3u8` })
  if (thumbnail) addThumbnail(out, paths, thumbnail, probe)
  if (storyboard) addStoryboard(out, paths, storyboard)
  if (m4a) addAudioOnly(out, paths, m4a, audio.maps.at(-1) ?? '0:a:0', hls && options.hlsSegmentSeconds)
  if (hls && m4a) hls.audio = { profile: m4a.name, playlist: `${m4a.name}.m3u8` }
  if (out.args.length === 0) return { runs: [], skipped }
  // Variable or very high frame rates become a constant rate once, before the split.
  const fps = outputFps(probe)
  const watermark = options.watermark
  const filters = fps ? `fps=${fps},` : ''
  const head = videoHead(`0:${probe.videoIndex}`, filters, out.branches.length, probe, watermark?.placement)
  const graph = [
    ...(out.branches.length > 0 ? [head, ...out.branches] : []),
    ...(audio.graph ? [audio.graph] : []),
  ]
  const args = [
    ...COMMON,
    ...PROGRESS,
    ...inputArgs(paths.input, probe, options),
    // The watermark is input 1, laid over the video at the head of the graph (videoHead).
    ...(watermark && out.branches.length > 0 ? watermarkInputArgs(watermark.path) : []),
    ...(graph.length > 0 ? ['-filter_complex', graph.join(';')] : []),
    ...out.args,
  ]
  const runs: FfmpegRun[] = [{ args, outputs: out.files, progress: true }]
  if (storyboard) runs.push(sheetRun(storyboard))
  return { runs, skipped, hls, storyboard }
}

/** The HLS presentation of the H.264 rungs, if the job asks for one (skipped when there are none). */
function hlsPlan(
  paths: RunPaths,
  profiles: readonly Profile[],
  videos: readonly VideoProfile[],
  skipped: Skipped[],
): HlsPlan | undefined {
  const hlsProfile = profiles.find((p) => p.kind === 'hls')
  if (!hlsProfile) return undefined
  const rungs = videos.filter((p) => p.codec === 'h264')
  if (rungs.length === 0) {
    skipped.push({ profile: hlsProfile.name, reason: 'no H.264 rendition to package' })
    return undefined
  }
  return {
    profile: hlsProfile.name,
    dir: `${paths.outDir}/${hlsProfile.name}`,
    variants: rungs.map((p) => ({ profile: p.name, playlist: `${p.name}.m3u8` })),
  }
}

/** One branch and one output per rendition: scaled, encoded, with the source's first audio track. */
function addVideos(
  out: Outputs,
  paths: RunPaths,
  videos: readonly VideoProfile[],
  probe: Probe,
  options: EncodeOptions,
  hls: HlsPlan | undefined,
  audio: readonly string[],
): void {
  const portrait = probe.height > probe.width
  videos.forEach((profile, i) => {
    out.branches.push(`[s${out.branches.length}]${scaleFilter(profile, portrait)},format=yuv420p[v${i}]`)
    const path = `${paths.outDir}/${outputFileName(profile)}`
    out.args.push('-map', `[v${i}]`)
    if (probe.hasAudio) out.args.push('-map', audio[i] ?? '0:a:0')
    out.args.push(...videoCodecArgs(profile))
    if (options.threads > 0) out.args.push('-threads', String(options.threads))
    out.args.push(...(probe.hasAudio ? audioCodecArgs(profile) : ['-an']))
    // A rung of the HLS stream is a fragmented MP4 that its playlist names byte ranges of.
    out.args.push(...(hls && profile.codec === 'h264' ? FRAGMENTED_MP4 : containerArgs(profile)), path)
    out.files.push({
      profile: profile.name,
      path,
      media: { ...renditionSize(profile, probe), codec: profile.codec },
    })
  })
}

/** The audio alone (`audio`): an M4A, fragmented for the HLS stream's audio-only variant when there is one. */
function addAudioOnly(
  out: Outputs,
  paths: RunPaths,
  profile: AudioProfile,
  map: string,
  hlsSegmentSeconds: number | undefined | false,
): void {
  const path = `${paths.outDir}/${outputFileName(profile)}`
  out.args.push(...audioOnlyArgs(map, profile, path, hlsSegmentSeconds || undefined))
  out.files.push({ profile: profile.name, path, media: { width: null, height: null, codec: 'aac' } })
}

function addThumbnail(out: Outputs, paths: RunPaths, thumbnail: ImageProfile, probe: Probe): void {
  const path = `${paths.outDir}/${outputFileName(thumbnail)}`
  out.branches.push(`[s${out.branches.length}]${thumbnailFilter(thumbnail, probe)}[thumb]`)
  // biome-ignore format: flag and value on one line
  out.args.push('-map', '[thumb]', '-frames:v', '2', '-q:v', '3', '-update', '1', '-f', 'image2', path)
  out.files.push({
    profile: thumbnail.name,
    path,
    media: { ...thumbnailSize(thumbnail, probe), codec: 'mjpeg' },
  })
}

function addStoryboard(out: Outputs, paths: RunPaths, storyboard: StoryboardPlan): void {
  const { interval, tileWidth, tileHeight } = storyboard
  // One JPEG a tile, as each comes: a `tile` filter here would write its first sheet only
  // after columns x rows tiles, and ffmpeg reports no progress until every output has begun.
  // The sheets are laid out afterwards, from the tiles (sheetRun).
  out.branches.push(`[s${out.branches.length}]fps=1/${interval},scale=${tileWidth}:${tileHeight}[board]`)
  // biome-ignore format: flag and value on one line
  out.args.push('-map', '[board]', '-q:v', '2', '-start_number', '1', '-f', 'image2', storyboard.tilePattern)
  out.files.push({ profile: storyboard.profile, path: `${paths.outDir}/${storyboard.profile}.vtt` })
}
