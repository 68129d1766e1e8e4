import { describe, expect, it } from 'vitest'
import { readSse, type SseMessage, SseParser } from './sse.ts'

const STREAM = [
  ': keep-alive',
  '',
  'event: job.queued',
  'id: 1-0',
  'data: {"type":"job.queued"}',
  '',
  'event: job.progress',
  'id: 2-0',
  'data: {"type":"job.progress",',
  'data: "progress":42.5}',
  '',
  '',
].join('\n')

const EXPECTED: SseMessage[] = [
  { event: 'job.queued', id: '1-0', data: '{"type":"job.queued"}' },
  { event: 'job.progress', id: '2-0', data: '{"type":"job.progress",\n"progress":42.5}' },
]

/** Everything `text` parses to when it arrives in the given pieces. */
function parse(pieces: string[]): SseMessage[] {
  const parser = new SseParser()
  return [...pieces.flatMap((piece) => parser.push(piece)), ...parser.end()]
}

describe('SseParser', () => {
  it('parses events, joins data lines and skips comments', () => {
    expect(parse([STREAM])).toEqual(EXPECTED)
  })

  it('gives the same events however the text is split, with LF, CRLF or CR line ends', () => {
    for (const eol of ['\n', '\r\n', '\r']) {
      const text = STREAM.replaceAll('\n', eol)
      for (let at = 0; at <= text.length; at++) {
        expect(parse([text.slice(0, at), text.slice(at)]), `${JSON.stringify(eol)} split at ${at}`).toEqual(
          EXPECTED,
        )
      }
      expect(parse([...text])).toEqual(EXPECTED)
    }
  })

  it('keeps the last id and retry across events, drops a NUL id, reads a field with no colon', () => {
    const text = 'retry: 3000\nid: 7-0\ndata: a\n\nid: bad\0id\ndata\n\nretry: soon\nid\ndata: c\n\n'
    expect(parse([text])).toEqual([
      { event: 'message', id: '7-0', data: 'a', retry: 3000 },
      { event: 'message', id: '7-0', data: '', retry: 3000 },
      { event: 'message', id: '', data: 'c', retry: 3000 },
    ])
  })

  it('strips one leading space only, and a leading BOM', () => {
    expect(parse(['\uFEFFdata:  two\n\ndata:none\n\n'])).toEqual([
      { event: 'message', id: '', data: ' two' },
      { event: 'message', id: '', data: 'none' },
    ])
  })

  it('dispatches nothing for a block without data, and drops an event the stream ends inside', () => {
    expect(parse(['event: job.queued\nid: 1-0\n\ndata: {"type":"job.failed"}\n'])).toEqual([])
    const parser = new SseParser()
    parser.push('id: 1-0\n\n')
    expect(parser.lastEventId).toBe('1-0')
  })
})

describe('readSse', () => {
  it('reads a byte stream, multi-byte characters split across chunks, and cancels it when left early', async () => {
    const bytes = new TextEncoder().encode('data: café ☕\n\ndata: second\n\ndata: third\n\n')
    let canceled = false
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const byte of bytes) controller.enqueue(new Uint8Array([byte]))
      },
      cancel() {
        canceled = true
      },
    })
    const seen: string[] = []
    for await (const message of readSse(body)) {
      seen.push(message.data)
      if (seen.length === 2) break
    }
    expect(seen).toEqual(['café ☕', 'second'])
    expect(canceled).toBe(true)
  })
})
