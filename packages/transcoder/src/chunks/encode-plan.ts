/**
 * Pure: what a chunked encode makes and how it is cut, decided once by the job's coordinator and
 * kept (JSON) in the job's chunk hash: every transcoder that takes one of its items reads it
 * there, so none probes the source again.
 */
import type {
  AudioProfile,
  ImageProfile,
  Profile,
  StoryboardProfile,
  VideoProfile,
  Watermark,
} from '@vpp/shared'
import {
  ladder,
  outputFps,
  type Skipped,
  type StoryboardPlan,
  storyboardPlan,
  thumbnailTime,
} from '../ffmpeg-args/index.ts'
import type { Probe } from '../probe.ts'
import { audioPartFormat } from './args.ts'
import type { Chunk, Part } from './plan.ts'
import { planChunks } from './plan.ts'

export interface EncodePlan {
  /**
   * Seconds of video, as its packets say (capped by MAX_DURATION_SECONDS plus a second); a
   * clip's length with a clip.
   */
  duration: number
  /**
   * The job's clip, in seconds of the source: its chunks, tiles, thumbnail time and progress are
   * on its timeline (0 = `start`). Absent: the whole source (and every plan from before clips).
   */
  clip?: { start: number; end: number }
  probe: Probe
  /** A constant output rate for variable or too-high rates (outputFps); null: the source's. */
  fps: string | null
  /** Every video rendition, in ladder order. */
  videos: VideoProfile[]
  /** The HLS ladder: its H.264 rungs, and the audio rendition's AAC bitrate (null: no audio). */
  hls: { profile: string; rungs: string[]; segmentSeconds: number; audioKbps: number | null } | null
  /** The audio encodes the renditions share (empty: no audio). */
  audio: Array<{ codec: 'aac' | 'opus'; kbps: number }>
  /** The storyboard's grid (its files are named where the tiles are laid out). */
  storyboard: Omit<StoryboardPlan, 'tilePattern' | 'sheetPattern'> | null
  thumbnail: { profile: ImageProfile; at: number } | null
  /** The source's parts, each a piece (`part-l{lease}-00003.mkv`). */
  parts: Array<Part & { piece: string }>
  /** The source's audio stream, a piece of its own; null: no audio. */
  audioPart: string | null
  /** Its container (audioPartFormat). */
  audioFormat: 'mov' | 'matroska'
  chunks: Chunk[]
  skipped: Skipped[]
  /** The job's watermark (each chunk reads the job's copy of its PNG); absent: none, as in older plans. */
  watermark?: Watermark
  /**
   * The audio alone (`audio`): the M4A the assembly copies from the audio item's AAC encode of
   * its bitrate (`aac-128`). Unset when not asked, or the source has no audio.
   */
  audioOnly?: { profile: string; kbps: number }
  /**
   * `normalize_audio`: the audio item measures the whole audio's loudness, then encodes it
   * normalised (never per chunk). Unset in plans kept from before it existed: not normalised.
   */
  normalizeAudio?: boolean
}

/**
 * The first chunks' lengths: the first 4 s of the stream in two 2 s chunks, encoded side by side
 * as soon as the job is planned (a player starts once about that much is in).
 */
export const LEAD_SECONDS = [2, 2]

/** The name of chunk `index`'s work item: `c00003`. */
export const chunkItem = (index: number) => `c${String(index).padStart(5, '0')}`
export const AUDIO_ITEM = 'audio'

/**
 * Pure: the plan of a chunked encode of `profiles` from a source described by `probe`, cut at
 * `keyframes` into chunks of about `chunkSeconds` (planChunks). `lease`: the coordinator's, in
 * the parts' names, so that parts of two coordinators never share a name.
 */
export function encodePlan(
  probe: Probe,
  profiles: readonly Profile[],
  cut: {
    keyframes: readonly number[]
    duration: number
    chunkSeconds: number
    /** Only this stretch of the source (the job's clip). */
    clip?: { start: number; end: number }
  },
  options: {
    hlsSegmentSeconds: number
    storyboardInterval?: number
    lease: string | number
    /** The job's own profile list, when it gave one (ladder). */
    asked?: readonly string[]
    normalizeAudio?: boolean
  },
): EncodePlan {
  const { videos, skipped } = ladder(profiles, probe, options.asked)
  const hlsProfile = profiles.find((p) => p.kind === 'hls')
  const rungs = hlsProfile ? videos.filter((p) => p.codec === 'h264') : []
  if (hlsProfile && rungs.length === 0)
    skipped.push({ profile: hlsProfile.name, reason: 'no H.264 rendition to package' })
  const audioOnly = profiles.find((p): p is AudioProfile => p.kind === 'audio')
  if (audioOnly && !probe.hasAudio)
    skipped.push({ profile: audioOnly.name, reason: 'the source has no audio' })
  const audio = audioEncodes(probe.hasAudio ? videos : [], probe.hasAudio ? audioOnly : undefined)
  const hlsAudio =
    probe.hasAudio && rungs.length > 0 ? Math.max(...rungs.map((r) => r.audioBitrateKbps)) : null
  const { chunks, parts, clip } = planChunks(cut.keyframes, cut.duration, {
    chunkSeconds: cut.chunkSeconds,
    lead: LEAD_SECONDS,
    clip: cut.clip,
  })
  // Seconds of the output: the clip's, or the source's.
  const duration = clip ? clip.end - clip.start : cut.duration
  const board = profiles.find((p): p is StoryboardProfile => p.kind === 'storyboard')
  const sized = { ...probe, duration }
  const storyboard = board
    ? storyboardPlan({ input: '', outDir: '' }, board, sized, {
        threads: 0,
        storyboardInterval: options.storyboardInterval,
      })
    : undefined
  const thumbnail = profiles.find((p): p is ImageProfile => p.kind === 'image')
  return {
    duration,
    ...(clip ? { clip } : {}),
    probe,
    fps: outputFps(probe),
    videos,
    hls:
      hlsProfile && rungs.length > 0
        ? {
            profile: hlsProfile.name,
            rungs: rungs.map((r) => r.name),
            segmentSeconds: options.hlsSegmentSeconds,
            audioKbps: hlsAudio,
          }
        : null,
    audio,
    storyboard: storyboard ? withoutPaths(storyboard) : null,
    thumbnail: thumbnail ? { profile: thumbnail, at: Number(thumbnailTime(duration)) } : null,
    parts: parts.map((part) => ({
      ...part,
      piece: `part-l${options.lease}-${String(part.index).padStart(5, '0')}.mkv`,
    })),
    audioPart: probe.hasAudio
      ? `audio-l${options.lease}.${audioPartFormat(probe) === 'mov' ? 'mov' : 'mka'}`
      : null,
    audioFormat: audioPartFormat(probe),
    chunks,
    skipped,
    ...(audioOnly && probe.hasAudio
      ? { audioOnly: { profile: audioOnly.name, kbps: audioOnly.audioBitrateKbps } }
      : {}),
    ...(options.normalizeAudio && probe.hasAudio ? { normalizeAudio: true } : {}),
  }
}

/**
 * The audio item's encodes: one per codec and bitrate the renditions carry, and the audio alone,
 * which shares the renditions' AAC encode of its bitrate, or adds one.
 */
function audioEncodes(
  videos: readonly VideoProfile[],
  audioOnly: AudioProfile | undefined,
): EncodePlan['audio'] {
  const audio = new Map<string, { codec: 'aac' | 'opus'; kbps: number }>()
  for (const video of videos) {
    const codec = video.container === 'webm' ? 'opus' : 'aac'
    audio.set(`${codec}-${video.audioBitrateKbps}`, { codec, kbps: video.audioBitrateKbps })
  }
  if (audioOnly)
    audio.set(`aac-${audioOnly.audioBitrateKbps}`, { codec: 'aac', kbps: audioOnly.audioBitrateKbps })
  return [...audio.values()]
}

/**
 * The work items of a plan, in the order queued. First (a new job's turn comes early): the lead
 * chunks, then the audio (published as it is encoded, it covers their seconds within a moment);
 * then the other chunks.
 */
export function planItems(plan: EncodePlan): Array<{ name: string; first: boolean }> {
  const lead = plan.chunks.filter((c) => c.index < LEAD_SECONDS.length)
  return [
    ...lead.map((chunk) => ({ name: chunkItem(chunk.index), first: true })),
    ...(plan.audioPart ? [{ name: AUDIO_ITEM, first: true }] : []),
    ...plan.chunks.slice(lead.length).map((chunk) => ({ name: chunkItem(chunk.index), first: false })),
  ]
}

function withoutPaths({ tilePattern, sheetPattern, ...grid }: StoryboardPlan) {
  return grid
}
