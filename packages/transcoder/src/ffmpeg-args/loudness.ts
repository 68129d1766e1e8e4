/**
 * Pure: two-pass EBU R128 loudness normalisation (`loudnorm`), for jobs created with
 * `normalize_audio: true`. Pass 1 measures the whole audio once (measureArgs, parseLoudnorm);
 * pass 2 is a filter every audio output reads from (audioSources): one linear gain when that keeps
 * the true peak under the target, loudnorm's dynamic mode otherwise. docs/transcoding.md, "Loudness".
 */

/**
 * -16 LUFS integrated, -1.5 dBTP, 11 LU range: streaming and mobile practice (AES TD1004 and
 * TD1008 recommend -16 to -20 LUFS; Apple uses -16). EBU R128's -23 is for broadcast and plays
 * too quietly on phones; -14 leaves AAC too little headroom for its overshoot.
 */
export const LOUDNESS_TARGET = { I: -16, TP: -1.5, LRA: 11 } as const

/** What pass 1 measured of the input, as loudnorm prints it (`input_*`, `target_offset`). */
export interface Loudness {
  input_i: number
  input_tp: number
  input_lra: number
  input_thresh: number
  target_offset: number
}

const target = `I=${LOUDNESS_TARGET.I}:TP=${LOUDNESS_TARGET.TP}:LRA=${LOUDNESS_TARGET.LRA}`

/**
 * Pass 1: the input's first audio track through loudnorm, to nothing; loudnorm prints its
 * measurement as JSON on stderr when it ends. `input`: the input's own arguments, ending with
 * `-i`, as the encode reads it (a clip's seek and length included).
 * `-loglevel info`: at `error` (COMMON), loudnorm's JSON is not printed at all.
 */
export function measureArgs(input: readonly string[]): string[] {
  // biome-ignore format: flag and value on one line
  return [
    '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'info',
    '-progress', 'pipe:1', '-stats_period', '0.5',
    ...input,
    '-map', '0:a:0', '-vn',
    '-af', `loudnorm=${target}:print_format=json`,
    '-f', 'null', '-',
  ]
}

/**
 * Pure: the measurement in pass 1's stderr, its last `{...}` block (loudnorm prints it last);
 * null when there is none. A silent track measures `-inf`, kept as -Infinity (normalizeFilter).
 */
export function parseLoudnorm(stderr: string): Loudness | null {
  const end = stderr.lastIndexOf('}')
  const start = end < 0 ? -1 : stderr.lastIndexOf('{', end)
  if (start < 0) return null
  let json: Record<string, unknown>
  try {
    json = JSON.parse(stderr.slice(start, end + 1)) as Record<string, unknown>
  } catch {
    return null
  }
  const keys = ['input_i', 'input_tp', 'input_lra', 'input_thresh', 'target_offset'] as const
  const measured: Partial<Loudness> = {}
  for (const key of keys) {
    const text = String(json[key]).trim()
    // loudnorm prints `-inf` (C's printf) where a silent track has no loudness.
    const value = /^[+-]?inf$/i.test(text)
      ? (text.startsWith('-') ? -1 : 1) * Number.POSITIVE_INFINITY
      : Number.parseFloat(text)
    if (Number.isNaN(value)) return null
    measured[key] = value
  }
  return measured as Loudness
}

/**
 * Pure: `linear` when one gain takes the input to the target with its true peak at or under
 * TP and its range within LRA, else `dynamic` (loudnorm's own rule in pass 2, ffmpeg 5.1).
 */
export function normalizationType(m: Loudness): 'linear' | 'dynamic' {
  const peak = m.input_tp + (LOUDNESS_TARGET.I - m.input_i)
  return peak <= LOUDNESS_TARGET.TP && m.input_lra <= LOUDNESS_TARGET.LRA ? 'linear' : 'dynamic'
}

/**
 * Pure: pass 2, the filter that normalises with pass 1's measurement; null for a silent track
 * (nothing to bring up). loudnorm works at 192 kHz: `aresample=48000` brings it back to what
 * AAC and Opus are encoded at.
 */
export function normalizeFilter(m: Loudness): string | null {
  if (!Number.isFinite(m.input_i) || !Number.isFinite(m.input_tp) || m.input_i < -99) return null
  const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v)).toFixed(2)
  return [
    `loudnorm=${target}`,
    `measured_I=${clamp(m.input_i, -99, 0)}`,
    `measured_TP=${clamp(m.input_tp, -99, 99)}`,
    `measured_LRA=${clamp(m.input_lra, 0, 99)}`,
    `measured_thresh=${clamp(m.input_thresh, -99, 0)}`,
    `offset=${clamp(Number.isFinite(m.target_offset) ? m.target_offset : 0, -99, 99)}`,
    'linear=true:print_format=summary,aresample=48000',
  ].join(':')
}

/**
 * Pure: what each of `count` audio outputs maps, from the audio `stream` (`0:a:0`): the stream
 * itself, or with a measurement, the normalised audio split `count` ways (one loudnorm for all)
 * and the filter graph's chain that makes it.
 */
export function audioSources(
  stream: string,
  count: number,
  loudness?: Loudness | null,
): { graph: string | null; maps: string[] } {
  const filter = loudness ? normalizeFilter(loudness) : null
  if (!filter || count === 0) return { graph: null, maps: Array.from({ length: count }, () => stream) }
  const labels = Array.from({ length: count }, (_, i) => `[anorm${i}]`)
  return { graph: `[${stream}]${filter},asplit=${count}${labels.join('')}`, maps: labels }
}
