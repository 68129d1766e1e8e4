/**
 * A job's clip (`clip: {start, end}`, seconds of the source): checked against the probed input,
 * and the input as the encode sees it, whose timeline starts at the clip's start. Pure.
 */
import { type Clip, PermanentJobError } from '@vpp/shared'
import { outputFps } from './ffmpeg-args/index.ts'
import type { Probe } from './probe.ts'

/** Seconds of one frame of `probe` (25 fps when the rate is unknown). */
const frameOf = (probe: Pick<Probe, 'frameRate'>) =>
  1 / (probe.frameRate && probe.frameRate > 0 ? probe.frameRate : 25)

/** `60.2`: seconds as a person reads them (to the tenth, no trailing zeros). */
const spoken = (seconds: number) => String(Math.round(seconds * 10) / 10)

/**
 * Refuse a clip outside the video, for good (`clip_out_of_range`): one that starts at or past its
 * end, or ends more than a frame past it (a frame's slack for rounding of the length). Never
 * clamped. A video whose container does not say its length is not checked here.
 */
export function checkClip(clip: Clip | undefined, probe: Pick<Probe, 'duration' | 'frameRate'>): void {
  if (!clip || probe.duration === null) return
  const length = `the video is ${spoken(probe.duration)} s long`
  if (clip.start >= probe.duration)
    throw new PermanentJobError('clip_out_of_range', `clip starts at ${spoken(clip.start)} s; ${length}`)
  if (clip.end > probe.duration + frameOf(probe) + 1e-9)
    throw new PermanentJobError('clip_out_of_range', `clip ends at ${spoken(clip.end)} s; ${length}`)
}

/**
 * The input as the encode sees it: with a clip, `end - start` seconds long (what the storyboard,
 * the thumbnail's time, progress and the choice of engine go by); else the probe itself.
 */
export function clipTimeline(probe: Probe, clip: Clip | undefined): Probe {
  return clip ? { ...probe, duration: clip.end - clip.start } : probe
}

/**
 * The clip on the source's frames: from its first frame at or after `start` to its first frame
 * at or after `end` (exclusive), so that every cut (the run's `-ss`/`-t`, each chunk's) falls on
 * a frame and the audio is cut where the video is: no frame is doubled or dropped to fill a gap.
 * The frames of a constant rate are at `videoStart + k / rate`. The start is cut a quarter
 * frame before its frame, so that timestamps rounded to the millisecond (Matroska's) never put
 * the first frame half a frame past the cut, which a constant-rate MP4 fills with a copy of it;
 * the end half a frame before its frame, because `-t` counts from the first frame kept, a
 * quarter frame after the cut: the frame at the end stays out whichever way it was rounded. A
 * variable or too-high rate is made constant after the cut (outputFps) and is not moved.
 */
export function onFrames(clip: Clip | undefined, probe: Probe): Clip | undefined {
  if (!clip || !probe.frameRate || probe.variableFrameRate || outputFps(probe) !== null) return clip
  const rate = probe.frameRate
  const first = probe.videoStart ?? 0
  const frame = (t: number, early: number) =>
    Math.round((first + (Math.max(0, Math.ceil((t - first) * rate - 1e-6)) - early) / rate) * 1e6) / 1e6
  const start = frame(clip.start, 0.25)
  const end = frame(clip.end, 0.5)
  return end > start ? { start: Math.max(0, start), end } : clip
}
