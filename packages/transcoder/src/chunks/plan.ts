/**
 * The plan of a chunked encode: where the source is cut into parts (by stream copy, at its own
 * keyframes: no decode) and which stretch of which part each chunk encodes. Pure, but for the
 * argument arrays of the ffprobe that lists the keyframes.
 */
import { CONFINE, type Probe } from '../probe.ts'

/** A stretch of the source cut out by stream copy: it starts on a keyframe of the source. */
export interface Part {
  /**
   * Its number in the split (`part-%05d.mkv`): its place in `parts`, plus one when a clip starts
   * past the source's first keyframe (the split's part 0, before the clip, is not kept).
   */
  index: number
  /** Seconds, source time: a keyframe's. */
  start: number
  /** Seconds, source time: the next part's start, or the source's end. */
  end: number
}

/**
 * One unit of encoding: `[start, end)` of the output's timeline (the source's, or a clip's from
 * its start), read from one part only.
 */
export interface Chunk {
  index: number
  start: number
  end: number
  /** The part it reads, by its place in `parts`: it starts at or before the chunk. */
  part: number
  /** Seconds into the part where the chunk begins: 0 unless keyframes are too sparse to cut at. */
  seek: number
}

export interface ChunkPlan {
  parts: Part[]
  chunks: Chunk[]
  /** Only `[start, end)` of the source, in its seconds (absent: all of it; plans from before clips). */
  clip?: { start: number; end: number }
}

/**
 * ffprobe arguments that list the packets of the video stream as `pts_time,duration_time,flags`
 * lines (`K` in the flags: a keyframe). Reads the container's packets only: nothing is decoded.
 */
export function keyframeArgs(input: string, probe: Probe): string[] {
  // biome-ignore format: flag and value on one line
  return [
    '-v', 'error', ...CONFINE,
    '-select_streams', String(probe.videoIndex),
    '-show_entries', 'packet=pts_time,duration_time,flags',
    '-of', 'csv=p=0',
    `file:${input}`,
  ]
}

/**
 * Pure: from keyframeArgs' output, the keyframe times (seconds, ascending, distinct), and where
 * the video ends as its packets say (the latest packet's end: what the file holds, whatever its
 * header claims); null with no packet.
 */
export function parsePackets(csv: string): { keyframes: number[]; end: number | null } {
  const times = new Set<number>()
  let end: number | null = null
  for (const line of csv.split('\n')) {
    const [time, duration, flags] = line.trim().split(',')
    const seconds = Number(time)
    if (time === '' || time === undefined || !Number.isFinite(seconds)) continue
    const length = Number(duration)
    end = Math.max(end ?? 0, seconds + (Number.isFinite(length) ? length : 0))
    if (flags?.includes('K')) times.add(seconds)
  }
  return { keyframes: [...times].sort((a, b) => a - b), end }
}

/** Seconds to the microsecond: a difference of two times without its float noise (6.000000000000001). */
const micro = (t: number) => Math.round(t * 1e6) / 1e6

export interface PlanOptions {
  /** CHUNK_SECONDS: the length a chunk aims at. */
  chunkSeconds: number
  /**
   * Exact lengths of the first chunks (the stream's start, which a viewer waits for: short ones
   * are encoded soonest), cut frame-accurately wherever the keyframes are. Default: none.
   */
  lead?: readonly number[]
  /** Only `[start, end)` of the source (seconds), the job's clip: the rest is never encoded. */
  clip?: { start: number; end: number }
}

/**
 * Pure: cut `[0, duration)` into chunks of about `chunkSeconds`, each starting on the first
 * keyframe of the source at or after its aimed start when there is one within a chunk's length,
 * so that the part it reads starts with that keyframe and nothing is decoded twice. Where
 * keyframes are sparser than that (a screen recording with one a minute), the chunk starts exactly
 * at its aimed time and reads the part that holds it from the part's keyframe (`seek`: decoded,
 * not kept: the decode a frame-accurate cut costs). A last chunk of half a chunk or less joins the
 * one before it. The `lead` chunks come first, exactly as long as asked.
 *
 * With a clip, the same over `[clip.start, clip.end)` only: the first chunk starts exactly at the
 * clip's start (from the keyframe at or before it), only the parts the chunks read are kept, and
 * the chunks' times are on the clip's timeline (0 = its start); the parts' stay the source's.
 */
export function planChunks(keyframes: readonly number[], duration: number, options: PlanOptions): ChunkPlan {
  const { chunkSeconds } = options
  const from = options.clip?.start ?? 0
  const to = options.clip?.end ?? duration
  const keys = keyframes.filter((t) => t >= 0 && t < to)
  if (keys[0] !== 0) keys.unshift(0) // the first packet is where decoding starts, whatever it says
  const starts: number[] = [from]
  let lead = from
  for (const length of options.lead ?? []) {
    // Only while a whole chunk is left after them.
    if (lead + length + chunkSeconds > to) break
    lead += length
    starts.push(lead)
  }
  for (let aim = lead + chunkSeconds; aim < to - chunkSeconds / 2; ) {
    const previous = starts.at(-1) as number
    const key = keys.find((t) => t >= aim && t > previous)
    if (key !== undefined && key < aim + chunkSeconds) {
      if (key < to - chunkSeconds / 2) starts.push(key)
      aim = key + chunkSeconds
    } else {
      starts.push(aim)
      aim += chunkSeconds
    }
  }
  // Parts: cut at every chunk start that is a keyframe; a chunk between keyframes reads the part
  // of the keyframe before it. The first part starts at the keyframe at or before the first chunk.
  const first = keys.findLast((t) => t <= from) ?? 0
  const partStarts = [first, ...starts.filter((t) => t > first && keys.includes(t))]
  // The split's part 0 (before the first kept part) is not kept.
  const skipped = first > 0 ? 1 : 0
  const parts = partStarts.map((start, i) => ({ index: i + skipped, start, end: partStarts[i + 1] ?? to }))
  const chunks = starts.map((start, index) => {
    const part = parts.findLastIndex((p) => p.start <= start)
    const seek = micro(start - (parts[part] as Part).start)
    return { index, start: micro(start - from), end: micro((starts[index + 1] ?? to) - from), part, seek }
  })
  return { parts, chunks, ...(options.clip ? { clip: options.clip } : {}) }
}
