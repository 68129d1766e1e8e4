/**
 * normalize_audio in the chunked engine: the audio item, which covers the whole duration once,
 * measures it (pass 1) before it encodes every audio output normalised (pass 2, audioArgs). No
 * chunk needs the measurement: chunks are video only.
 */
import { type Loudness, measureArgs } from '../ffmpeg-args/index.ts'
import { MEASURE_SHARE, measureLoudness } from '../measure-loudness.ts'
import { audioPartInput } from './args.ts'
import type { ItemContext } from './encode-item.ts'
import type { EncodePlan } from './encode-plan.ts'

/**
 * Pass 1 over the audio part, when the plan asks for it (null otherwise), and how the item's
 * seconds are told after it: the measuring takes the first MEASURE_SHARE of the item's stretch.
 */
export async function measureAudioPart(
  plan: EncodePlan,
  partPath: string,
  ctx: ItemContext,
): Promise<{ loudness: Loudness | null; at: (seconds: number) => number }> {
  if (!plan.normalizeAudio) return { loudness: null, at: (seconds) => seconds }
  const loudness = await measureLoudness(measureArgs(audioPartInput(partPath, plan.audioFormat)), {
    ...ctx,
    onSeconds: (seconds) => ctx.onProgress?.(seconds * MEASURE_SHARE),
    explain: (error) => ctx.explain(error, { [`file:${partPath}`]: 'part', [partPath]: 'part' }),
  })
  return {
    loudness,
    at: (seconds) => plan.duration * MEASURE_SHARE + seconds * (1 - MEASURE_SHARE),
  }
}
