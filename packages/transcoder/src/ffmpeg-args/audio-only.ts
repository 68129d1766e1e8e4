/**
 * Pure: the `audio` profile's output, the audio alone as AAC in an M4A file: a plain one with its
 * index in front, or, when the job has an HLS stream, a fragmented one whose byte ranges the
 * stream's audio-only variant names (as the video rungs' MP4s are, byte-ranges.ts).
 */
import type { AudioProfile } from '@vpp/shared'

/**
 * The M4A's muxer. For HLS: a fragment every `hlsSegmentSeconds` (`-frag_duration`), the `sidx`
 * in front, the `moov` after the first fragment (its edit list skips AAC's priming). Never
 * `frag_keyframe` here: with audio alone every packet is a keyframe, a fragment each 21 ms.
 */
export function audioOnlyContainer(hlsSegmentSeconds?: number): string[] {
  if (!hlsSegmentSeconds) return ['-movflags', '+faststart', '-f', 'mp4']
  // biome-ignore format: flag and value on one line
  return [
    '-movflags', '+delay_moov+default_base_moof+global_sidx',
    '-frag_duration', String(Math.round(hlsSegmentSeconds * 1e6)),
    '-f', 'mp4',
  ]
}

/**
 * One output of the single run: the audio `map` reads (the source's first track, or its
 * normalised copy), AAC stereo at the profile's bitrate, no video.
 */
export function audioOnlyArgs(
  map: string,
  profile: AudioProfile,
  path: string,
  hlsSegmentSeconds?: number,
): string[] {
  // biome-ignore format: flag and value on one line
  return [
    '-map', map, '-vn',
    // Any channel layout in (mono, 5.1, ...), stereo out, as the renditions' audio.
    '-c:a', 'aac', '-b:a', `${profile.audioBitrateKbps}k`, '-ac', '2',
    ...audioOnlyContainer(hlsSegmentSeconds), path,
  ]
}

/**
 * The chunked engine's M4A: the audio item's AAC encode at the profile's bitrate (`encoded`, an
 * MP4 of ours), copied into its container: nothing encoded twice.
 */
export function audioRemuxArgs(encoded: string, path: string, hlsSegmentSeconds?: number): string[] {
  // biome-ignore format: flag and value on one line
  return [
    '-hide_banner', '-nostdin', '-y', '-loglevel', 'error',
    '-protocol_whitelist', 'file', '-f', 'mp4', '-i', `file:${encoded}`,
    '-map', '0:a:0', '-c', 'copy',
    ...audioOnlyContainer(hlsSegmentSeconds), path,
  ]
}
