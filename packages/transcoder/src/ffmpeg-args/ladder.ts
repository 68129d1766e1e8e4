/**
 * Pure: which video renditions a source gets (the ladder, capped at the source), and the size each
 * comes out at.
 */
import { PROFILES, type Profile, SOURCE_SIZE_NAMES, type VideoCodec, type VideoProfile } from '@vpp/shared'
import type { Probe } from '../probe.ts'
import type { Skipped } from './types.ts'

/** A rung this close to the source's short side (or closer) stands for the source's own size. */
const NEAR_SOURCE = 0.9
/** Adjacent H.264 rungs of the default ladder are at most this far apart in short side (2.25x in pixels). */
const MAX_STEP = 1.5

/**
 * A rendition of `size` not in the table (the source's own size, or a rung above the table's),
 * named `name`. Its ceiling is the nearest table rung's below it (or the smallest rung's), scaled
 * by the pixel count to the power 0.75, in steps of 50 kbps (at least 200). The built-in table is
 * the reference, whatever subset a job or TRANSCODE_PROFILES chose: the same source gets the
 * same ceiling.
 */
function sizedProfile(
  name: string,
  codec: VideoCodec,
  size: { width: number; height: number },
): VideoProfile {
  const short = Math.min(size.width, size.height)
  const family = PROFILES.filter((p): p is VideoProfile => p.kind === 'video' && p.codec === codec)
  const byHeight = family.sort((a, b) => a.height - b.height)
  const reference = byHeight.filter((p) => p.height <= short).pop() ?? byHeight[0]
  const scale = reference ? ((size.width * size.height) / (reference.width * reference.height)) ** 0.75 : 1
  const kbps = Math.max(200, Math.round(((reference?.videoBitrateKbps ?? 800) * scale) / 50) * 50)
  return {
    name,
    kind: 'video',
    codec,
    width: size.width,
    height: size.height,
    videoBitrateKbps: kbps,
    audioBitrateKbps: reference?.audioBitrateKbps ?? 96,
    container: codec === 'h264' ? 'mp4' : 'webm',
  }
}

/** The rendition at the source's own size for one codec family: `original` or `webm_original`. */
export function originalProfile(codec: VideoCodec, probe: Probe): VideoProfile {
  return sizedProfile(SOURCE_SIZE_NAMES[codec], codec, probe)
}

/**
 * The video ladder for one source, capped at it. Every rung not taller than the source's short
 * side; the rungs left out are `skipped`, with the reason.
 *
 * - By default (`asked` unset), per codec family, one rendition at the source's own size unless a
 *   rung is within 10 % of it; and when that is more than 2.25x the next H.264 rung in pixels (a
 *   source above 4K), rungs in between, named by their short side (`2880p`).
 * - With a job's own list (`asked`), exactly the profiles it names: the source-size renditions
 *   only when it names them, nothing in between.
 */
export function ladder(
  profiles: readonly Profile[],
  probe: Probe,
  asked?: readonly string[],
): { videos: VideoProfile[]; skipped: Skipped[] } {
  const shortSide = Math.min(probe.width, probe.height)
  const skipped: Skipped[] = []
  const videos: VideoProfile[] = []
  for (const codec of ['h264', 'vp9'] as const) {
    const family = profiles.filter((p): p is VideoProfile => p.kind === 'video' && p.codec === codec)
    const original = SOURCE_SIZE_NAMES[codec]
    const askedOriginal = asked?.includes(original) ?? false
    if (family.length === 0 && !askedOriginal) continue
    const made: VideoProfile[] = []
    for (const profile of family) {
      if (profile.height > shortSide) {
        skipped.push({
          profile: profile.name,
          reason: `source is ${probe.width}x${probe.height}; ${profile.name} would upscale it`,
        })
      } else made.push(profile)
    }
    const top = Math.max(0, ...made.map((p) => p.height))
    if (asked ? askedOriginal : top < NEAR_SOURCE * shortSide) made.unshift(originalProfile(codec, probe))
    videos.push(...(codec === 'h264' && !asked ? withoutGaps(made, probe) : made))
  }
  // Back in the table's order of families (H.264 first unless the table says otherwise; a family
  // made only of its source-size rendition where the built-in table has it).
  const firstOf = (codec: string) => {
    const at = profiles.findIndex((p) => p.kind === 'video' && p.codec === codec)
    return at >= 0 ? at : PROFILES.findIndex((p) => p.kind === 'video' && p.codec === codec) - 0.5
  }
  videos.sort((a, b) => firstOf(a.codec) - firstOf(b.codec))
  return {
    videos,
    skipped: skipped.sort((a, b) => indexOf(profiles, a.profile) - indexOf(profiles, b.profile)),
  }
}

/**
 * The rungs, tallest first. When the tallest is the source-size rendition and the next is the
 * built-in table's top rung, more than MAX_STEP below it in short side (a 4320p source over
 * 1440p), rungs in between: evenly spaced in ratio, even-sized, at the source's aspect ratio.
 * Below that rung, the table decides.
 */
function withoutGaps(rungs: readonly VideoProfile[], probe: Probe): VideoProfile[] {
  const short = (p: VideoProfile) => Math.min(p.width, p.height)
  const [top, next, ...rest] = [...rungs].sort((a, b) => short(b) - short(a))
  // Only over the built-in table's top rung: an operator who left the tall rungs out of
  // TRANSCODE_PROFILES (360p alone, say) gets no others.
  const tableTop = Math.max(...PROFILES.map((p) => (p.kind === 'video' && p.codec === 'h264' ? p.height : 0)))
  if (!top || !next || top.name !== SOURCE_SIZE_NAMES.h264 || next.height < tableTop) return [...rungs]
  const ratio = short(top) / short(next)
  const between = Math.ceil(Math.log(ratio) / Math.log(MAX_STEP) - 1e-9) - 1
  const aspect = Math.max(probe.width, probe.height) / Math.min(probe.width, probe.height)
  const added: VideoProfile[] = []
  for (let k = between; k >= 1; k--) {
    // A profile's height is the rendition's short side (its width the long one, nominally).
    const height = Math.round((short(next) * ratio ** (k / (between + 1))) / 2) * 2
    const width = Math.round((height * aspect) / 2) * 2
    added.push(sizedProfile(`${height}p`, 'h264', { width, height }))
  }
  return [top, ...added, next, ...rest]
}

const indexOf = (profiles: readonly Profile[], name: string) => profiles.findIndex((p) => p.name === name)

/**
 * Pure: the size `scaleFilter` gives a rendition, computed as ffmpeg's scale filter does (a `-2`
 * side is `av_rescale` of the other, rounded to nearest, made even), so the job record can say it
 * without probing the file. The frames reach the filter already rotated: display size.
 */
export function renditionSize(profile: VideoProfile, probe: Probe): { width: number; height: number } {
  if (Object.values(SOURCE_SIZE_NAMES).includes(profile.name as never)) {
    return { width: Math.trunc(probe.width / 2) * 2, height: Math.trunc(probe.height / 2) * 2 }
  }
  const even = (other: number, num: number, den: number) =>
    Math.max(2, Math.round((other * num) / (den * 2)) * 2)
  return probe.height > probe.width
    ? { width: profile.height, height: even(profile.height, probe.height, probe.width) }
    : { width: even(profile.height, probe.width, probe.height), height: profile.height }
}

/**
 * Scale so the short side is the profile's height; -2 keeps the aspect ratio with the even
 * size 4:2:0 needs. The `original` rendition keeps the source size, rounded down to even.
 */
export function scaleFilter(profile: VideoProfile, portrait: boolean): string {
  if (Object.values(SOURCE_SIZE_NAMES).includes(profile.name as never))
    return 'scale=trunc(iw/2)*2:trunc(ih/2)*2'
  return portrait ? `scale=${profile.height}:-2` : `scale=-2:${profile.height}`
}
