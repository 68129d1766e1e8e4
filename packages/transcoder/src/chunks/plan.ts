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
 * ffprobe arguments that list the packets of the video stream as `pts_time,flags` lines (`K` in
 * the flags: a keyframe). Reads the container's packets only: nothing is decoded.
 */
export function keyframeArgs(input: string, probe: Probe): string[] {
  // biome-ignore format: flag and value on one line
  return [
    '-v', 'error', ...CONFINE,
    '-select_streams', String(probe.videoIndex),
    '-show_entries', 'packet=pts_time,flags',
    '-of', 'csv=p=0',
    `file:${input}`,
  ]
}

/** Pure: the keyframe times (seconds, ascending, distinct) in keyframeArgs' output. */
export function parseKeyframes(csv: string): number[] {
  const times = new Set<number>()
  for (const line of csv.split('\n')) {
    const [time, flags] = line.trim().split(',')
    const seconds = Number(time)
    if (flags?.includes('K') && time !== '' && Number.isFinite(seconds)) times.add(seconds)
  }
  return [...times].sort((a, b) => a - b)
}

export interface PlanOptions {
  /** CHUNK_SECONDS: the length a chunk aims at. */
  chunkSeconds: number
}

/**
 * Pure: cut `[0, duration)` into chunks of about `chunkSeconds`, each starting on the first
 * keyframe of the source at or after its aimed start when there is one within a chunk's length,
 * so that the part it reads starts with that keyframe and nothing is decoded twice. Where
 * keyframes are sparser than that (a screen recording with one a minute), the chunk starts exactly
 * at its aimed time and reads the part that holds it from the part's keyframe (`seek`: decoded,
 * not kept: the decode a frame-accurate cut costs). A last chunk of half a chunk or less joins the
 * one before it.
 */
export function planChunks(keyframes: readonly number[], duration: number, options: PlanOptions): ChunkPlan {
  const { chunkSeconds } = options
  const keys = keyframes.filter((t) => t >= 0 && t < duration)
  if (keys[0] !== 0) keys.unshift(0) // the first packet is where decoding starts, whatever it says
  const starts: number[] = [0]
  for (let aim = chunkSeconds; aim < duration - chunkSeconds / 2; ) {
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
