export {
  type AudioOutput,
  assembleArgs,
  audioArgs,
  audioPartFormat,
  type ChunkOutput,
  chunkArgs,
  concatList,
  splitArgs,
} from './args.ts'
export { decodeSpan, shiftSegment, trackTimescale } from './fragments.ts'
export { type Chunk, type ChunkPlan, keyframeArgs, type Part, parsePackets, planChunks } from './plan.ts'
export { type MediaPlaylist, mediaPlaylist, type Segment } from './playlist.ts'
