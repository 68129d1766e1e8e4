import { z } from 'zod'
import { AppError } from './errors.ts'

/**
 * The per-job options of the create endpoints (`POST /upload`, tus, `POST /upload-url`): their
 * schemas (what the OpenAPI document and the job record show) and `jobOptions`, which checks
 * them with messages a caller can act on.
 */

/** Shortest clip, in seconds: about two frames at 24 fps, below which nothing is left to encode. */
export const MIN_CLIP_SECONDS = 0.1

/** Longest time a clip may name, in seconds (a week): a bound on nonsense, not a duration limit. */
const MAX_CLIP_SECONDS = 7 * 24 * 3600

export const ClipSchema = z
  .object({
    start: z.number().min(0).describe('Seconds from the start of the video (0: its first frame)'),
    end: z
      .number()
      .positive()
      .describe('Seconds from the start of the video, at least 0.1 s past `start` (exclusive)'),
  })
  .meta({
    id: 'Clip',
    description:
      'Only this range of the video is transcoded, frame-accurately, with its audio: every rendition, the HLS stream, the storyboard and the thumbnail. Never clamped: a range past the end fails the job (`clip_out_of_range`)',
    examples: [{ start: 12.5, end: 30 }],
  })
export type Clip = z.infer<typeof ClipSchema>

export const WATERMARK_POSITIONS = ['top-left', 'top-right', 'bottom-left', 'bottom-right', 'center'] as const
export type WatermarkPosition = (typeof WATERMARK_POSITIONS)[number]

/** A stored watermark image's id, as `POST /watermarks` answers it. */
export const WATERMARK_ID_PATTERN = /^wm_[A-Za-z0-9]{8,40}$/

export const WatermarkSchema = z
  .object({
    image: z
      .string()
      .regex(WATERMARK_ID_PATTERN)
      .optional()
      .describe(
        "A stored image (`POST /watermarks`); absent: the PNG uploaded with the video (`watermark_image`), or else the key's default",
      ),
    position: z.enum(WATERMARK_POSITIONS).default('bottom-right'),
    width: z
      .number()
      .min(0.02)
      .max(0.5)
      .default(0.15)
      .describe("The image's width as a fraction of the video's (its height follows its aspect)"),
    margin: z
      .number()
      .min(0)
      .max(0.2)
      .default(0.02)
      .describe("The gap to the nearest edges, as a fraction of the video's width"),
  })
  .meta({
    id: 'Watermark',
    description:
      'A PNG laid over every video rendition and the HLS stream (and so the thumbnail and storyboard), scaled with each rung',
    examples: [{ image: 'wm_3f9c2a7b1d4e', position: 'bottom-right', width: 0.15, margin: 0.02 }],
  })
export type Watermark = z.infer<typeof WatermarkSchema>

/** Per-job options of the create endpoints, checked. */
export interface JobOptions {
  profiles?: string[]
  metadata?: Record<string, unknown>
  callback_url?: string
  clip?: Clip
  watermark?: Watermark
  normalize_audio?: boolean
}

/** The options as given: JSON values (`POST /upload-url`) or text (form fields, tus metadata). */
export interface JobOptionsInput {
  profiles?: unknown
  metadata?: unknown
  callback_url?: unknown
  clip?: unknown
  watermark?: unknown
  normalize_audio?: unknown
}

/** Largest `metadata`, as JSON text. */
export const MAX_METADATA_BYTES = 1024

/**
 * Per-job options of both create endpoints, checked: `profiles` a non-empty subset of the
 * profile table (an unknown name is named), `metadata` a JSON object of 1 KB at most,
 * `callback_url` an http(s) URL (its address is the caller's to check, as for URL imports),
 * `clip` a range of at least MIN_CLIP_SECONDS, `watermark` a placement (its image is ingest's to
 * find), `normalize_audio` a boolean. Text forms are read too: `clip` as `12.5-30` or JSON,
 * `watermark` as JSON, `normalize_audio` as `true`/`false`.
 */
export function jobOptions(input: JobOptionsInput, known: readonly string[]): JobOptions {
  const options: JobOptions = {}
  if (input.callback_url !== undefined) options.callback_url = callbackUrl(input.callback_url)
  if (input.profiles !== undefined) options.profiles = profiles(input.profiles, known)
  if (input.metadata !== undefined) options.metadata = metadata(input.metadata)
  if (input.clip !== undefined) options.clip = clip(input.clip)
  if (input.watermark !== undefined) options.watermark = watermark(input.watermark)
  if (input.normalize_audio !== undefined) options.normalize_audio = flag(input.normalize_audio)
  return options
}

function callbackUrl(url: unknown): string {
  if (
    typeof url !== 'string' ||
    url.length > 2048 ||
    !URL.canParse(url) ||
    !/^https?:$/.test(new URL(url).protocol)
  ) {
    throw optionError('callback_url must be an absolute http:// or https:// URL of at most 2048 characters')
  }
  return url
}

function profiles(input: unknown, known: readonly string[]): string[] {
  const names = Array.isArray(input) ? input : String(input).split(',')
  const profiles = [...new Set(names.map((n) => String(n).trim()).filter(Boolean))]
  const unknown = profiles.filter((n) => !known.includes(n))
  if (unknown.length > 0)
    throw optionError(`unknown profile ${unknown.join(', ')}; known: ${known.join(', ')}`)
  if (profiles.length === 0) throw optionError('profiles must name at least one profile')
  return profiles
}

function metadata(input: unknown): Record<string, unknown> {
  const metadata =
    typeof input === 'string' ? jsonText(input, 'metadata must be JSON text of an object') : input
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw optionError('metadata must be a JSON object')
  }
  if (new TextEncoder().encode(JSON.stringify(metadata)).length > MAX_METADATA_BYTES) {
    throw optionError(`metadata must be at most ${MAX_METADATA_BYTES} bytes of JSON`)
  }
  return metadata as Record<string, unknown>
}

/** `12.5-30` (seconds, start-end) as text, or `{ "start": 12.5, "end": 30 }` as JSON or text. */
function clip(input: unknown): Clip {
  const CLIP_HELP = 'clip must be {"start": seconds, "end": seconds} or "start-end" in seconds, like 12.5-30'
  let value = input
  if (typeof input === 'string') {
    const range = /^\s*(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)\s*$/.exec(input)
    value = range ? { start: Number(range[1]), end: Number(range[2]) } : jsonText(input, CLIP_HELP)
  }
  const parsed = z.object({ start: z.number(), end: z.number() }).strict().safeParse(value)
  if (!parsed.success || !Number.isFinite(parsed.data.start) || !Number.isFinite(parsed.data.end)) {
    throw optionError(CLIP_HELP)
  }
  const { start, end } = parsed.data
  if (start < 0) throw optionError('clip.start must be 0 or more seconds')
  if (end > MAX_CLIP_SECONDS) throw optionError(`clip.end must be at most ${MAX_CLIP_SECONDS} seconds`)
  if (end - start < MIN_CLIP_SECONDS) {
    throw optionError(
      `clip.end must be at least ${MIN_CLIP_SECONDS} s after clip.start (got ${start}-${end})`,
    )
  }
  return { start, end }
}

function watermark(input: unknown): Watermark {
  const value =
    typeof input === 'string'
      ? jsonText(input, 'watermark must be JSON text of an object: {"position": "top-left", ...}')
      : input
  const parsed = WatermarkSchema.strict().safeParse(value)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const field = issue?.path.length ? `watermark.${issue.path.join('.')}` : 'watermark'
    throw optionError(`${field}: ${watermarkHelp(issue?.path[0])}`)
  }
  return parsed.data
}

function watermarkHelp(field: PropertyKey | undefined): string {
  switch (field) {
    case 'image':
      return 'must be a watermark id from POST /watermarks (wm_...)'
    case 'position':
      return `must be one of ${WATERMARK_POSITIONS.join(', ')}`
    case 'width':
      return 'must be a fraction of the video width from 0.02 to 0.5'
    case 'margin':
      return 'must be a fraction of the video width from 0 to 0.2'
    default:
      return 'must be an object of image, position, width and margin only'
  }
}

function flag(input: unknown): boolean {
  if (typeof input === 'boolean') return input
  if (input === 'true' || input === '1') return true
  if (input === 'false' || input === '0') return false
  throw optionError('normalize_audio must be true or false')
}

function jsonText(text: string, message: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    throw optionError(message)
  }
}

const optionError = (message: string) => new AppError('bad_request', message, 400)
