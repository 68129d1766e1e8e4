/**
 * The pure parts of ffmpeg's arguments, by concern: the ladder and rendition sizes, the encoders,
 * the input, the thumbnail and storyboard, HLS through the tee muxer. `../build-args.ts` puts them
 * together into a job's run.
 */
export { audioOnlyArgs, audioOnlyContainer, audioRemuxArgs } from './audio-only.ts'
export { audioCodecArgs, CRF, containerArgs, encodersFor, videoCodecArgs } from './codecs.ts'
export { hlsTee, teeEscape } from './hls-tee.ts'
export {
  sheetRun,
  storyboardPlan,
  thumbnailBranch,
  thumbnailFilter,
  thumbnailSize,
  thumbnailTime,
} from './images.ts'
export { COMMON, clipInput, inputArgs, outputFps, PROGRESS, splitHead } from './input.ts'
export { ladder, originalProfile, renditionSize, scaleFilter } from './ladder.ts'
export {
  audioSources,
  LOUDNESS_TARGET,
  type Loudness,
  measureArgs,
  normalizationType,
  normalizeFilter,
  parseLoudnorm,
} from './loudness.ts'
export type {
  EncodeOptions,
  FfmpegPlan,
  FfmpegRun,
  HlsPlan,
  RunPaths,
  Skipped,
  StoryboardPlan,
} from './types.ts'
export {
  videoHead,
  type WatermarkRun,
  watermarkInputArgs,
  watermarkPaths,
  watermarkPixels,
} from './watermark.ts'
