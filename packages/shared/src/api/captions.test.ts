import { describe, expect, it } from 'vitest'
import {
  captionLabel,
  captionLanguage,
  captionPlaylist,
  MAX_CAPTION_CUES,
  parseCaptions,
  withSubtitles,
} from './captions.ts'
import { AppError } from './errors.ts'

const bytes = (text: string) => new TextEncoder().encode(text)
const parse = (text: string, duration: number | null = 60) => parseCaptions(bytes(text), duration)

/** The error `run` throws: its code, status and message. */
function refusal(run: () => unknown) {
  try {
    run()
  } catch (error) {
    if (!(error instanceof AppError)) throw error
    return { code: error.code, status: error.status, message: error.message }
  }
  throw new Error('not refused')
}

describe('parseCaptions', () => {
  it('converts SRT to WebVTT: numbers dropped, commas to dots, CRLF and a BOM read', () => {
    const srt =
      '\uFEFF1\r\n00:00:01,000 --> 00:00:02,500\r\nHello <i>there</i>\r\n\r\n2\r\n00:00:03,000 --> 00:00:04,000\r\nTwo\r\nlines &amp; more\r\n'
    expect(parse(srt)).toEqual({
      vtt: 'WEBVTT\n\n00:00:01.000 --> 00:00:02.500\nHello <i>there</i>\n\n00:00:03.000 --> 00:00:04.000\nTwo\nlines &amp; more\n',
      cues: 2,
      end: 4,
    })
  })

  it('keeps WebVTT cues, ids, settings, allowed markup and a clean STYLE; drops NOTE blocks', () => {
    const vtt = [
      'WEBVTT - a title',
      '',
      'NOTE made by hand',
      '',
      'STYLE',
      '::cue(.loud) { color: yellow }',
      '',
      'intro',
      '01:02.000 --> 01:03.250 align:start line:90%',
      "<v Mary O'Neil>Hi</v> <c.loud>now</c> <lang pt-BR>olá</lang> <00:01:02.500><b>b</b><u>u</u>",
      '<ruby>漢<rt>kan</rt></ruby> Tom & Jerry&nbsp;&lrm;',
      '',
    ].join('\n')
    expect(parse(vtt, 64).vtt).toBe(
      [
        'WEBVTT',
        '',
        'STYLE\n::cue(.loud) { color: yellow }',
        '',
        'intro\n00:01:02.000 --> 00:01:03.250 align:start line:90%',
        "<v Mary O'Neil>Hi</v> <c.loud>now</c> <lang pt-BR>olá</lang> <00:01:02.500><b>b</b><u>u</u>",
        '<ruby>漢<rt>kan</rt></ruby> Tom & Jerry&nbsp;&lrm;',
        '',
      ].join('\n'),
    )
  })

  it('refuses a <script> in SRT, naming its line', () => {
    expect(refusal(() => parse('1\n00:00:01,000 --> 00:00:02,000\nhi <script>alert(1)</script>\n'))).toEqual({
      code: 'invalid_captions',
      status: 400,
      message: 'line 3: markup <script> is not allowed (only b, i, u, c, v, lang, ruby, rt and timestamps)',
    })
  })

  it('refuses HTML, attributes, handlers and unclosed tags', () => {
    const cue = (text: string) => `WEBVTT\n\n00:01.000 --> 00:02.000\n${text}\n`
    for (const text of [
      '<img src=x onerror=alert(1)>',
      '<a href="javascript:alert(1)">x</a>',
      '<b onclick="x">x</b>',
      '<i style="x">x</i>',
      '<v a="b">x</v>',
      'x <b',
      '&#60;script&#62;',
      '&quot;',
    ]) {
      expect(refusal(() => parse(cue(text)))).toMatchObject({ code: 'invalid_captions', status: 400 })
      expect(refusal(() => parse(cue(text))).message).toMatch(/^line 4: /)
    }
  })

  it('refuses STYLE with url() and a REGION after a cue', () => {
    const style =
      'WEBVTT\n\nSTYLE\n::cue { background: url(https://evil.example/x) }\n\n00:01.000 --> 00:02.000\nx\n'
    expect(refusal(() => parse(style)).message).toBe(
      'line 4: STYLE may not hold url(), @import, expression(), image-set, quotes, "<" or "\\"',
    )
    const imageSet =
      'WEBVTT\n\nSTYLE\n::cue { background-image: image-set("https://evil.example/x" 1x) }\n\n00:01.000 --> 00:02.000\nx\n'
    expect(refusal(() => parse(imageSet)).message).toMatch(/^line 4: STYLE may not hold/)
    const quoted = "WEBVTT\n\nSTYLE\n::cue { font-family: 'x' }\n\n00:01.000 --> 00:02.000\nx\n"
    expect(refusal(() => parse(quoted)).message).toMatch(/^line 4: STYLE may not hold/)
    const late = 'WEBVTT\n\n00:01.000 --> 00:02.000\nx\n\nREGION\nid:a\n'
    expect(refusal(() => parse(late)).message).toBe('line 6: REGION blocks come before the first cue')
  })

  it('refuses bad timing: end before start, loose formats, past the end, unknown settings', () => {
    const srt = (timing: string) => `1\n${timing}\nx\n`
    expect(refusal(() => parse(srt('00:00:05,000 --> 00:00:04,000'))).message).toBe(
      'line 2: a cue must end after it starts',
    )
    expect(refusal(() => parse(srt('00:00:05,000 --> 00:00:05,000'))).message).toBe(
      'line 2: a cue must end after it starts',
    )
    expect(refusal(() => parse(srt('0:00:01,000 --> 00:00:02,000'))).message).toMatch(
      /^line 2: bad cue timing/,
    )
    expect(refusal(() => parse(srt('00:00:01,00 --> 00:00:02,000'))).message).toMatch(
      /^line 2: bad cue timing/,
    )
    expect(refusal(() => parse(srt('00:00:01,000 -> 00:00:02,000'))).message).toMatch(
      /^line 2: bad cue timing/,
    )
    expect(refusal(() => parse(srt('00:00:59,000 --> 00:01:01,001'), 60)).message).toBe(
      "line 2: the cue ends at 61.001 s, past the video's end (60 s)",
    )
    expect(parse(srt('00:00:59,000 --> 00:01:01,000'), 60).end).toBe(61)
    expect(parse(srt('00:00:59,000 --> 00:09:01,000'), null).end).toBe(541)
    expect(refusal(() => parse('WEBVTT\n\n00:01.000 --> 00:02.000 onload:x\nx\n')).message).toBe(
      'line 3: unknown cue setting "onload:x"',
    )
  })

  it('refuses what is not UTF-8, empty files and too many cues', () => {
    expect(refusal(() => parseCaptions(new Uint8Array([0x57, 0xff, 0xfe]), 60)).message).toBe(
      'the file is not UTF-8 text',
    )
    expect(refusal(() => parse('WEBVTT\n')).message).toBe('no cues')
    expect(refusal(() => parse('')).message).toBe('no cues: neither WebVTT (WEBVTT first) nor SRT')
    const many = Array.from({ length: MAX_CAPTION_CUES + 1 }, () => '00:01.000 --> 00:02.000\nx').join('\n\n')
    expect(refusal(() => parse(`WEBVTT\n\n${many}\n`)).message).toBe(
      `line ${3 + MAX_CAPTION_CUES * 3}: more than ${MAX_CAPTION_CUES} cues`,
    )
  })
})

describe('captionLanguage and captionLabel', () => {
  it('canonicalises BCP 47 tags and refuses others', () => {
    expect(captionLanguage('pt-br')).toBe('pt-BR')
    expect(captionLanguage('EN')).toBe('en')
    expect(captionLanguage('zh-Hant-TW')).toBe('zh-Hant-TW')
    for (const bad of ['english!', 'e', '', 'en_US', 'x"y', 42, 'en-', '123']) {
      expect(refusal(() => captionLanguage(bad)).code).toBe('invalid_captions')
    }
  })

  it('takes 1-64 characters without quotes or control characters', () => {
    expect(captionLabel(' English (CC) ')).toBe('English (CC)')
    for (const bad of ['', 'a'.repeat(65), 'say "hi"', 'two\nlines', 'tab\there', undefined]) {
      expect(refusal(() => captionLabel(bad)).message).toBe(
        'label must be 1-64 characters, without quotes or control characters',
      )
    }
  })
})

describe('captionPlaylist and withSubtitles', () => {
  it('makes a one-segment VOD playlist', () => {
    expect(captionPlaylist('index.vtt', 10.5)).toBe(
      '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:11\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:10.500,\nindex.vtt\n#EXT-X-ENDLIST\n',
    )
  })

  const master = [
    '#EXTM3U',
    '#EXT-X-VERSION:7',
    '#EXT-X-INDEPENDENT-SEGMENTS',
    '#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=640x360,CODECS="avc1.64001e,mp4a.40.2"',
    '360p/index.m3u8',
    '#EXT-X-STREAM-INF:BANDWIDTH=140000,CODECS="mp4a.40.2"',
    'audio.m3u8',
    '',
  ].join('\n')
  const en = { caption_id: 'cap_a', language: 'en', label: 'English' }
  const fr = { caption_id: 'cap_b', language: 'fr', label: 'Français' }

  it('adds the SUBTITLES group before the variants, and names it on every variant', () => {
    expect(withSubtitles(master, [en, fr])).toBe(
      [
        '#EXTM3U',
        '#EXT-X-VERSION:7',
        '#EXT-X-INDEPENDENT-SEGMENTS',
        '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en",AUTOSELECT=YES,DEFAULT=NO,URI="../captions/cap_a/index.m3u8"',
        '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="Français",LANGUAGE="fr",AUTOSELECT=YES,DEFAULT=NO,URI="../captions/cap_b/index.m3u8"',
        '#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=640x360,CODECS="avc1.64001e,mp4a.40.2",SUBTITLES="subs"',
        '360p/index.m3u8',
        '#EXT-X-STREAM-INF:BANDWIDTH=140000,CODECS="mp4a.40.2",SUBTITLES="subs"',
        'audio.m3u8',
        '',
      ].join('\n'),
    )
  })

  it('replaces what it added before: idempotent, and back to the original with no tracks', () => {
    const two = withSubtitles(master, [en, fr])
    expect(withSubtitles(two, [en, fr])).toBe(two)
    expect(withSubtitles(two, [en])).toBe(withSubtitles(master, [en]))
    expect(withSubtitles(two, [])).toBe(master)
  })
})
