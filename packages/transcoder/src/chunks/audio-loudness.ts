/**
 * normalize_audio in the chunked engine: the audio item, which covers the whole duration once,
 * measures it (pass 1) before it encodes every audio output normalised (pass 2, audioArgs). No
 * chunk needs the measurement: chunks are video only.
 */
import { clipInput, type Loudness, measureArgs } from '../ffmpeg-args/index.ts'
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
  const loudness = await measureLoudness(measureArgs(measuredInput(plan, partPath)), {
    ...ctx,
    onSeconds: (seconds) => ctx.onProgress?.(seconds * MEASURE_SHARE),
    explain: (error) => ctx.explain(error, { [`file:${partPath}`]: 'part', [partPath]: 'part' }),
  })
  return {
    loudness,
    at: (seconds) => plan.duration * MEASURE_SHARE + seconds * (1 - MEASURE_SHARE),
  }
}

/** The audio part as pass 1 reads it: the clip's stretch only, as the encode does (audioArgs). */
export function measuredInput(plan: Pick<EncodePlan, 'clip' | 'audioFormat'>, partPath: string): string[] {
  return [...clipInput(plan.clip), ...audioPartInput(partPath, plan.audioFormat)]
}

/**
 * The share of a chunked job's progress its audio item takes when it normalises (it decodes the
 * whole audio twice: measured, then encoded). Without normalize_audio the item is short next to
 * the chunks and the job's progress is the chunks' alone, as before.
 */
export const NORMALISED_AUDIO_SHARE = 0.1

/**
 * Pure: seconds done of seconds in all for the job's progress: the chunks' encoded seconds, and
 * with normalize_audio the audio item's (`at`, or all of it once done) at its share.
 */
export function chunkedProgress(
  plan: Pick<EncodePlan, 'duration' | 'normalizeAudio'>,
  chunkSeconds: number,
  audio: { state: string; at: number } | undefined,
): { done: number; total: number } {
  if (!plan.normalizeAudio) return { done: chunkSeconds, total: plan.duration }
  const audioAt = audio?.state === 'done' ? plan.duration : Math.min(plan.duration, audio?.at ?? 0)
  return {
    done: chunkSeconds + audioAt * NORMALISED_AUDIO_SHARE,
    total: plan.duration * (1 + NORMALISED_AUDIO_SHARE),
  }
}
