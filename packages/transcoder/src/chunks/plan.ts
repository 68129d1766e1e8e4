/**
 * The plan of a chunked encode: where the source is cut into parts (by stream copy, at its own
 * keyframes: no decode) and which stretch of which part each chunk encodes. Pure, but for the
 * argument arrays of the ffprobe that lists the keyframes.
 */
import { CONFINE, type Probe } from '../probe.ts'

/** A stretch of the source cut out by stream copy: it starts on a keyframe of the source. */
export interface Part {
  index: number
  /** Seconds, source time: a keyframe's. */
  start: number
  /** Seconds, source time: the next part's start, or the source's end. */
  end: number
}

/** One unit of encoding: `[start, end)` of the source, read from one part only. */
export interface Chunk {
  index: number
  start: number
  end: number
  /** The part it reads: its start is at or before `start` (after it when keyframes are sparse). */
  part: number
  /** Seconds into the part where the chunk begins: 0 unless keyframes are too sparse to cut at. */
  seek: number
}

export interface ChunkPlan {
  parts: Part[]
  chunks: Chunk[]
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

export interface PlanOptions {
  /** CHUNK_SECONDS: the length a chunk aims at. */
  chunkSeconds: number
  /**
   * Exact lengths of the first chunks (the stream's start, which a viewer waits for: short ones
   * are encoded soonest), cut frame-accurately wherever the keyframes are. Default: none.
   */
  lead?: readonly number[]
}

/**
 * Pure: cut `[0, duration)` into chunks of about `chunkSeconds`, each starting on the first
 * keyframe of the source at or after its aimed start when there is one within a chunk's length,
 * so that the part it reads starts with that keyframe and nothing is decoded twice. Where
 * keyframes are sparser than that (a screen recording with one a minute), the chunk starts exactly
 * at its aimed time and reads the part that holds it from the part's keyframe (`seek`: decoded,
 * not kept: the decode a frame-accurate cut costs). A last chunk of half a chunk or less joins the
 * one before it. The `lead` chunks come first, exactly as long as asked.
 */
export function planChunks(keyframes: readonly number[], duration: number, options: PlanOptions): ChunkPlan {
  const { chunkSeconds } = options
  const keys = keyframes.filter((t) => t >= 0 && t < duration)
  if (keys[0] !== 0) keys.unshift(0) // the first packet is where decoding starts, whatever it says
  const starts: number[] = [0]
  let lead = 0
  for (const length of options.lead ?? []) {
    // Only while a whole chunk is left after them.
    if (lead + length + chunkSeconds > duration) break
    lead += length
    starts.push(lead)
  }
  for (let aim = lead + chunkSeconds; aim < duration - chunkSeconds / 2; ) {
    const previous = starts.at(-1) as number
    const key = keys.find((t) => t >= aim && t > previous)
    if (key !== undefined && key < aim + chunkSeconds) {
      if (key < duration - chunkSeconds / 2) starts.push(key)
      aim = key + chunkSeconds
    } else {
      starts.push(aim)
      aim += chunkSeconds
    }
  }
  // Parts: cut at every chunk start that is a keyframe; a chunk between keyframes reads the part
  // of the keyframe before it.
  const partStarts = starts.filter((t) => keys.includes(t))
  const parts = partStarts.map((start, index) => ({ index, start, end: partStarts[index + 1] ?? duration }))
  const chunks = starts.map((start, index) => {
    const part = parts.findLast((p) => p.start <= start) as Part
    return { index, start, end: starts[index + 1] ?? duration, part: part.index, seek: start - part.start }
  })
  return { parts, chunks }
}
