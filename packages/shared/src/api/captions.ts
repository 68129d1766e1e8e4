import { z } from 'zod'
import { AppError } from './errors.ts'
import { CaptionSchema } from './job.ts'

/**
 * Caption tracks (`POST /jobs/{job_id}/captions`), pure and browser-safe: a WebVTT or SRT file
 * checked and rewritten as WebVTT, its language and label, the one-file playlist that carries it,
 * and the HLS master that lists the tracks. What is written is rebuilt from what was checked, so
 * nothing unchecked reaches a player: cue times strictly formed and inside the video, and cue
 * text limited to WebVTT's own markup (no HTML, no attributes), the entities of `ENTITIES`.
 */

/** Most cues a file may hold. */
export const MAX_CAPTION_CUES = 5000

/** A cue may end this long after the video (a last line left up over the end). */
export const CAPTION_END_SLACK_SECONDS = 1

/** Longest label (it is the track's NAME in the master). */
export const MAX_CAPTION_LABEL = 64

/** The entities cue text may hold; `&` not forming an entity is text. */
const ENTITIES = new Set(['amp', 'lt', 'gt', 'nbsp', 'lrm', 'rlm'])

/** A checked file: its WebVTT text, how many cues, and when the last one ends (seconds). */
export interface ParsedCaptions {
  vtt: string
  cues: number
  end: number
}

/** A track as the master lists it. */
export interface SubtitleTrack {
  caption_id: string
  language: string
  label: string
}

export const captionsError = (message: string) => new AppError('invalid_captions', message, 400)

const fail = (line: number, message: string): never => {
  throw captionsError(`line ${line}: ${message}`)
}

/** `[HH:]MM:SS.mmm` (`,` too in SRT), WebVTT's timestamp: seconds, or undefined. */
function seconds(text: string, srt: boolean): number | undefined {
  const match = (
    srt ? /^(\d{2,}):([0-5]\d):([0-5]\d)[,.](\d{3})$/ : /^(?:(\d{2,}):)?([0-5]\d):([0-5]\d)\.(\d{3})$/
  ).exec(text)
  if (!match) return undefined
  const [, h = '0', m = '0', s = '0', ms = '0'] = match
  return Number(h) * 3600 + Number(m) * 60 + Number(s) + Number(ms) / 1000
}

/** Seconds as WebVTT's `HH:MM:SS.mmm`. */
export function vttTime(total: number): string {
  const ms = Math.round(total * 1000)
  const pad = (n: number, width = 2) => String(n).padStart(width, '0')
  return `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}.${pad(ms % 1000, 3)}`
}

const CUE_SETTING = /^(vertical|line|position|size|align|region):[A-Za-z0-9.%,_-]{1,32}$/
const CLASSES = '(?:\\.[A-Za-z0-9_-]{1,32})*'
const TAGS = [
  new RegExp(`^<(?:b|i|u|c|ruby|rt)${CLASSES}>$`),
  new RegExp(`^<v${CLASSES}(?: [\\p{L}\\p{N} ._'-]{1,64})?>$`, 'u'),
  new RegExp(`^<lang${CLASSES} [A-Za-z0-9-]{1,35}>$`),
  /^<\/(?:b|i|u|c|v|lang|ruby|rt)>$/,
  /^<(?:\d{2,}:)?[0-5]\d:[0-5]\d\.\d{3}>$/,
]

/** Cue text `text` (line `at`), or an error naming what is not allowed. */
function checkText(text: string, at: number): string {
  if (text.includes('-->')) fail(at, 'cue text may not contain "-->"')
  for (const match of text.matchAll(/<[^>]*>?/g)) {
    const tag = match[0]
    if (!tag.endsWith('>')) fail(at, `"${tag.slice(0, 40)}" opens a tag that is not closed (write &lt;)`)
    if (!TAGS.some((allowed) => allowed.test(tag))) {
      fail(
        at,
        `markup ${tag.slice(0, 40)} is not allowed (only b, i, u, c, v, lang, ruby, rt and timestamps)`,
      )
    }
  }
  for (const match of text.matchAll(/&(#?[A-Za-z0-9]+);/g)) {
    if (!ENTITIES.has(match[1] ?? '')) fail(at, `entity ${match[0]} is not allowed`)
  }
  return text
}

interface Line {
  text: string
  at: number
}

/** The blocks of `lines` (runs of non-empty lines), each line with its number. */
function blocks(lines: string[]): Line[][] {
  const out: Line[][] = []
  let block: Line[] = []
  lines.forEach((text, i) => {
    if (text.trim() === '') {
      if (block.length > 0) out.push(block)
      block = []
    } else block.push({ text, at: i + 1 })
  })
  if (block.length > 0) out.push(block)
  return out
}

/**
 * A STYLE or REGION block, kept when nothing in it can fetch or inject: CSS fetches only through
 * url(), @import and quoted strings (image-set("…"), src), so none of those, nor markup or escapes.
 */
function checkBlock(block: Line[]): string {
  const [head, ...body] = block as [Line, ...Line[]]
  for (const line of body) {
    if (line.text.includes('-->')) fail(line.at, `a ${head.text.trim()} block may not contain "-->"`)
    if (/url\s*\(|@import|expression\s*\(|image-set|<|\\|["']/i.test(line.text)) {
      fail(
        line.at,
        `${head.text.trim()} may not hold url(), @import, expression(), image-set, quotes, "<" or "\\"`,
      )
    }
  }
  return block.map((line) => line.text).join('\n')
}

interface Cue {
  start: number
  end: number
  settings: string
  id?: string
  text: string[]
}

/** One cue block: optional id line, timing line, text. */
function parseCue(block: Line[], srt: boolean, duration: number | null): Cue {
  let rest = block
  let id: string | undefined
  if (!(rest[0] as Line).text.includes('-->')) {
    id = (rest[0] as Line).text.trim()
    rest = rest.slice(1)
    if (srt && !/^\d+$/.test(id)) fail(block[0]?.at ?? 0, 'an SRT cue starts with its number, then its times')
    if (/[<>&]/.test(id)) fail(block[0]?.at ?? 0, 'a cue identifier may not hold <, > or &')
  }
  const timing = rest[0]
  if (!timing) return fail((block.at(-1) as Line).at, 'a cue has no timing line ("start --> end")')
  const [from = '', arrow, to = '', ...settings] = timing.text.trim().split(/[ \t]+/)
  const start = seconds(from, srt)
  const end = seconds(to, srt)
  if (arrow !== '-->' || start === undefined || end === undefined) {
    fail(timing.at, `bad cue timing "${timing.text.slice(0, 60)}": expected HH:MM:SS.mmm --> HH:MM:SS.mmm`)
  }
  if ((start as number) >= (end as number)) fail(timing.at, 'a cue must end after it starts')
  if (duration !== null && (end as number) > duration + CAPTION_END_SLACK_SECONDS) {
    fail(timing.at, `the cue ends at ${end} s, past the video's end (${duration} s)`)
  }
  if (srt && settings.length > 0) fail(timing.at, 'an SRT timing line has nothing after the end time')
  for (const setting of settings) {
    if (!CUE_SETTING.test(setting)) fail(timing.at, `unknown cue setting "${setting.slice(0, 40)}"`)
  }
  const text = rest.slice(1).map((line) => checkText(line.text, line.at))
  return {
    start: start as number,
    end: end as number,
    settings: settings.join(' '),
    id: srt ? undefined : id,
    text,
  }
}

/**
 * Check a caption file (WebVTT, or SRT when it does not start with `WEBVTT`) and rewrite it as
 * WebVTT. `duration`: the video's, in seconds (null: unknown, not checked). Throws 400
 * `invalid_captions` naming the line.
 */
export function parseCaptions(bytes: Uint8Array, duration: number | null): ParsedCaptions {
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    throw captionsError('the file is not UTF-8 text')
  }
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/)
  if (lines.some((line) => line.includes('\0'))) throw captionsError('the file holds NUL characters')
  const srt = !/^WEBVTT(?:[ \t].*)?$/.test(lines[0] ?? '')
  const all = blocks(lines)
  const out: string[] = ['WEBVTT']
  const cues: Cue[] = []
  for (const [i, block] of all.entries()) {
    const head = (block[0] as Line).text
    if (!srt && i === 0) {
      const bad = block.slice(1).find((line) => line.text.includes('-->'))
      if (bad) fail(bad.at, 'leave a blank line between the WEBVTT line and the first cue')
      continue
    }
    if (!srt && /^NOTE(?:[ \t]|$)/.test(head)) continue
    if (!srt && /^(STYLE|REGION)[ \t]*$/.test(head)) {
      if (cues.length > 0) fail(block[0]?.at ?? 0, `${head.trim()} blocks come before the first cue`)
      out.push(checkBlock(block))
      continue
    }
    if (cues.length >= MAX_CAPTION_CUES) fail(block[0]?.at ?? 0, `more than ${MAX_CAPTION_CUES} cues`)
    cues.push(parseCue(block, srt, duration))
  }
  if (cues.length === 0)
    throw captionsError(srt ? 'no cues: neither WebVTT (WEBVTT first) nor SRT' : 'no cues')
  for (const cue of cues) {
    const timing = `${vttTime(cue.start)} --> ${vttTime(cue.end)}${cue.settings ? ` ${cue.settings}` : ''}`
    out.push([...(cue.id ? [cue.id] : []), timing, ...cue.text].join('\n'))
  }
  return { vtt: `${out.join('\n\n')}\n`, cues: cues.length, end: Math.max(...cues.map((cue) => cue.end)) }
}

/** A BCP 47 language tag, canonical (`pt-br` is `pt-BR`), or 400 `invalid_captions`. */
export function captionLanguage(input: unknown): string {
  const tag = typeof input === 'string' ? input.trim() : ''
  let canonical: string | undefined
  try {
    canonical = /^[A-Za-z0-9-]{2,35}$/.test(tag) ? Intl.getCanonicalLocales(tag)[0] : undefined
  } catch {
    canonical = undefined
  }
  if (!canonical) throw captionsError(`language must be a BCP 47 tag (en, pt-BR), not ${JSON.stringify(tag)}`)
  return canonical
}

/** A track label: 1-64 characters, no quotes or control characters (it is an m3u8 attribute). */
export function captionLabel(input: unknown): string {
  const label = typeof input === 'string' ? input.trim() : ''
  if (label.length < 1 || label.length > MAX_CAPTION_LABEL || /["\p{Cc}\u2028\u2029]/u.test(label)) {
    throw captionsError(
      `label must be 1-${MAX_CAPTION_LABEL} characters, without quotes or control characters`,
    )
  }
  return label
}

/** The media playlist of one WebVTT file `vtt` (its name beside the playlist) lasting `duration` s. */
export function captionPlaylist(vtt: string, duration: number): string {
  const length = Math.max(duration, 0.001)
  return [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    `#EXT-X-TARGETDURATION:${Math.ceil(length)}`,
    '#EXT-X-MEDIA-SEQUENCE:0',
    '#EXT-X-PLAYLIST-TYPE:VOD',
    `#EXTINF:${length.toFixed(3)},`,
    vtt,
    '#EXT-X-ENDLIST',
    '',
  ].join('\n')
}

/** The group every caption track is in. */
export const SUBTITLES_GROUP = 'subs'

/** Where the master (`hls/master.m3u8`) finds track `id`'s playlist. */
export const captionPlaylistUri = (id: string) => `../captions/${id}/index.m3u8`

const OUR_MEDIA = new RegExp(`^#EXT-X-MEDIA:(?=.*TYPE=SUBTITLES)(?=.*GROUP-ID="${SUBTITLES_GROUP}")`)
const OUR_ATTRIBUTE = new RegExp(`,SUBTITLES="${SUBTITLES_GROUP}"`, 'g')

/**
 * `master` listing exactly `tracks` as the SUBTITLES group `subs`: their `#EXT-X-MEDIA` lines
 * before the first variant, and `SUBTITLES="subs"` on every `#EXT-X-STREAM-INF` (none without
 * tracks). What an earlier call added is replaced, so rewriting is idempotent.
 */
export function withSubtitles(master: string, tracks: readonly SubtitleTrack[]): string {
  const lines = master
    .split(/\r?\n/)
    .filter((line) => !OUR_MEDIA.test(line))
    .map((line) => {
      if (!line.startsWith('#EXT-X-STREAM-INF:')) return line
      const bare = line.replace(OUR_ATTRIBUTE, '')
      return tracks.length > 0 ? `${bare},SUBTITLES="${SUBTITLES_GROUP}"` : bare
    })
  const media = tracks.map(
    (track) =>
      `#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="${SUBTITLES_GROUP}",NAME="${track.label}",LANGUAGE="${track.language}",AUTOSELECT=YES,DEFAULT=NO,URI="${captionPlaylistUri(track.caption_id)}"`,
  )
  const first = lines.findIndex((line) => line.startsWith('#EXT-X-STREAM-INF:'))
  lines.splice(first < 0 ? lines.length : first, 0, ...media)
  return lines.join('\n')
}

/** A track as status answers it (an example for the OpenAPI document). */
export const CAPTION_EXAMPLE = {
  caption_id: 'cap_3k9x0q2m7w1v8c4z',
  language: 'en',
  label: 'English',
  created_at: '2026-01-01T10:00:00.000Z',
  url: 'http://localhost:8001/media/5f0c4a52-3d7e-4a1b-9c2d-0e8f6a7b1c3d/captions/cap_3k9x0q2m7w1v8c4z/index.vtt',
}

/** `GET /jobs/{job_id}/captions`: a job's tracks, oldest first. */
export const CaptionListSchema = z
  .object({ captions: z.array(CaptionSchema) })
  .meta({ id: 'CaptionList', examples: [{ captions: [CAPTION_EXAMPLE] }] })
export type CaptionList = z.infer<typeof CaptionListSchema>

/** `POST /jobs/{job_id}/captions`'s multipart fields. */
export const CaptionFormSchema = z
  .object({
    file: z.string().meta({
      format: 'binary',
      contentMediaType: 'text/vtt',
      description: 'The captions: WebVTT, or SRT (converted to WebVTT), UTF-8, at most CAPTIONS_MAX_BYTES',
    }),
    language: z.string().describe('BCP 47 language tag: `en`, `pt-BR`'),
    label: z.string().describe("The track's name in a player's menu: 1-64 characters, no quotes"),
  })
  .meta({
    id: 'CaptionForm',
    examples: [{ file: '(the bytes of english.vtt)', language: 'en', label: 'English' }],
  })
