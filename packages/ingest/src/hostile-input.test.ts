import { createSocket } from 'node:dgram'
import { readFile } from 'node:fs/promises'
import { UploadResponseSchema } from '@vpp/shared'
import { dnsResolver } from '@vpp/shared/node'
import { describe, expect, it } from 'vitest'
import { form, MP4_HEAD, mp4Bytes, useIngestFixture } from './test-fixture.ts'

const fixture = useIngestFixture()
const text = (s: string) => new TextEncoder().encode(s)

/** A multipart body written by hand, so the file name can hold what browsers would escape. */
function rawMultipart(filename: string, bytes: Uint8Array) {
  // RFC 5987 filename*: any byte can be sent percent-encoded, NUL and escape sequences included.
  const encoded = encodeURIComponent(filename)
  const head = text(
    `--b0undary\r\nContent-Disposition: form-data; name="file"; filename*=UTF-8''${encoded}\r\n` +
      'Content-Type: video/mp4\r\n\r\n',
  )
  const tail = text('\r\n--b0undary--\r\n')
  const body = new Uint8Array(head.length + bytes.length + tail.length)
  body.set(head)
  body.set(bytes, head.length)
  body.set(tail, head.length + bytes.length)
  return { body, headers: { 'content-type': 'multipart/form-data; boundary=b0undary' } }
}

/** A request body that sends `first`, then one byte every `dripMs` (or nothing more at all). */
function slowBody(first: Uint8Array, dripMs?: number): ReadableStream<Uint8Array> {
  let timer: ReturnType<typeof setTimeout> | undefined
  return new ReadableStream({
    start(controller) {
      controller.enqueue(first)
    },
    async pull(controller) {
      if (dripMs === undefined) return new Promise(() => {}) // stalled for good
      await new Promise((resolve) => {
        timer = setTimeout(resolve, dripMs)
      })
      controller.enqueue(text('x'))
    },
    cancel() {
      clearTimeout(timer)
    },
  })
}

/** A request body sent as `pieces`, `gapMs` apart. */
function paced(pieces: Array<Uint8Array | string>, gapMs: number): ReadableStream<Uint8Array> {
  let timer: ReturnType<typeof setTimeout> | undefined
  let next = 0
  return new ReadableStream({
    async pull(controller) {
      if (next > 0) await new Promise((resolve) => (timer = setTimeout(resolve, gapMs)))
      const piece = pieces[next++] ?? ''
      controller.enqueue(typeof piece === 'string' ? text(piece) : piece)
      if (next === pieces.length) controller.close()
    },
    cancel() {
      clearTimeout(timer)
    },
  })
}

const json = { 'content-type': 'application/json' }

describe('request limits', () => {
  it('refuses a JSON body of more than a few KB with 413 before reading it all, declared or not', async () => {
    const t = await fixture.makeApp()
    const long = await t.importUrl({ url: `https://cdn.example.com/${'a'.repeat(20_000)}.mp4` })
    expect(long.status).toBe(413)
    expect(await long.json()).toEqual({
      error: 'payload_too_large',
      message: 'The request body is larger than 16384 bytes',
    })
    // Declared: refused on the header, the body (which never ends) is not read.
    const declared = await t.app.request('/upload-url', {
      method: 'POST',
      body: slowBody(text('{"url":"')),
      headers: { ...json, 'content-length': String(300 * 1024 * 1024) },
      duplex: 'half',
    } as RequestInit)
    expect(declared.status).toBe(413)
    expect(declared.headers.get('connection')).toBe('close')
    expect(await fixture.client.xLen(t.store.keys.stream)).toBe(0)
    const metrics = await (await t.app.request('/metrics')).text()
    expect(metrics).toMatch(/video_uploads_total\{status="payload_too_large",service="ingest"\} 2/)
  })

  it('answers a JSON body that trickles with 408 at REQUEST_TIMEOUT_MS, and queues nothing when it ends later', async () => {
    const t = await fixture.makeApp({ requestTimeoutMs: 300 })
    const started = Date.now()
    const res = await t.app.request('/upload-url', {
      method: 'POST',
      body: paced(['{"url":"https://cdn.example.com/', 'a.mp4"}'], 600),
      headers: json,
      duplex: 'half',
    } as RequestInit)
    expect(res.status).toBe(408)
    expect(await res.json()).toEqual({
      error: 'request_timeout',
      message: 'The request took longer than 0.3s',
    })
    expect(Date.now() - started).toBeLessThan(600)
    await new Promise((resolve) => setTimeout(resolve, 700)) // the body has ended by now
    expect(await fixture.client.xLen(t.store.keys.stream)).toBe(0)
  })

  it('takes an upload slower than REQUEST_TIMEOUT_MS: uploads have their own timeouts', async () => {
    const t = await fixture.makeApp({ requestTimeoutMs: 200, uploadIdleTimeoutMs: 1000 })
    const { body, headers } = rawMultipart('slow.mp4', mp4Bytes(3000))
    const pieces = Array.from({ length: 6 }, (_, i) =>
      body.subarray(i * 500, i === 5 ? undefined : (i + 1) * 500),
    )
    const res = await t.upload(paced(pieces, 100), headers)
    expect(res.status).toBe(202)
  })
})

describe('upload content is checked, not only the name', () => {
  it('refuses an HLS playlist or an ffconcat script named .mp4 with 415 and keeps nothing', async () => {
    const t = await fixture.makeApp()
    const attacks = {
      'hls.mp4': '#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:10.0,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n',
      'concat.avi': 'ffconcat version 1.0\nfile /etc/passwd\n',
      'page.webm': '<!doctype html><title>not a video</title>',
    }
    for (const [name, content] of Object.entries(attacks)) {
      const res = await t.upload(form(name, content))
      expect(res.status, name).toBe(415)
      expect(await res.json()).toEqual({
        error: 'invalid_file_type',
        message: 'Invalid file type: the content is not an mp4, mov, avi, mkv or webm video',
      })
    }
    const short = await t.upload(form('short.mp4', new Uint8Array([0, 0, 0])))
    expect(short.status).toBe(415)
    expect(await t.files()).toEqual([])
    expect(await fixture.client.xLen(t.store.keys.stream)).toBe(0)
  })

  it('accepts each accepted container by its magic bytes, whatever extension of the list it carries', async () => {
    const t = await fixture.makeApp()
    const heads = {
      'a.mp4': MP4_HEAD,
      'b.mov': new Uint8Array([0, 0, 0, 0x14, ...text('ftypqt  '), 0, 0, 0, 0]),
      'c.avi': text('RIFF\x00\x10\x00\x00AVI LIST'),
      'd.mkv': new Uint8Array([0x1a, 0x45, 0xdf, 0xa3, 0xa3, 0x42, 0x86, 0x81, 1, 0x42, 0xf7, 0x81]),
      'e.webm': new Uint8Array([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 1, 0x42, 0xf7, 0x81]),
    }
    for (const [name, head] of Object.entries(heads)) {
      const bytes = new Uint8Array(1000)
      bytes.set(head)
      const res = await t.upload(form(name, bytes))
      expect(res.status, name).toBe(202)
      const { job_id } = UploadResponseSchema.parse(await res.json())
      // Stored whole: the held-back head is written first, then the rest.
      expect(new Uint8Array(await readFile(`${t.uploadDir}/${job_id}`))).toEqual(bytes)
    }
  })
})

describe('upload file names are metadata', () => {
  it('stores under the generated id and shows a cleaned name for ../, \\, NUL, control and bidi characters', async () => {
    const t = await fixture.makeApp()
    const cases = {
      '../../../etc/cron.d/evil.mp4': 'evil.mp4',
      '..\\..\\Windows\\System32\\drivers.mp4': 'drivers.mp4',
      'clip\u0000.sh\u0007\u001b[31m.mp4': 'clip.sh[31m.mp4',
      'holiday\u202Egpj.mp4': 'holidaygpj.mp4',
      [`${'long'.repeat(2000)}.mp4`]: 'long'.repeat(2000).slice(0, 255),
    }
    for (const [raw, shown] of Object.entries(cases)) {
      const { body, headers } = rawMultipart(raw, mp4Bytes(500))
      const res = await t.upload(new Blob([body]) as unknown as string, headers)
      expect(res.status, JSON.stringify(raw.slice(0, 40))).toBe(202)
      const { job_id, filename } = UploadResponseSchema.parse(await res.json())
      expect(filename).toBe(shown)
      expect(await t.store.get(job_id)).toMatchObject({ filename: shown })
    }
    // Raw control characters in the part's headers are not HTTP: 400, nothing stored.
    const raw = await t.upload(form('a\u0007b.mp4', mp4Bytes(500)))
    expect(raw.status).toBe(400)
    // Nothing but generated ids in the upload directory, nothing anywhere else.
    const stored = await t.files()
    expect(stored).toHaveLength(Object.keys(cases).length)
    for (const name of stored) expect(name).toMatch(/^[0-9a-f-]{36}$/)
  })
  it('keeps names beyond Latin-1 as sent, raw UTF-8 (browsers, curl) or RFC 5987 filename*', async () => {
    const ingest = await fixture.serve()
    try {
      for (const name of ['видео.mp4', '視頻🎬.mp4']) {
        // fetch's FormData writes the name raw, in UTF-8, as browsers do.
        const raw = await fetch(`${ingest.url}/upload`, { method: 'POST', body: form(name, mp4Bytes(500)) })
        const encoded = rawMultipart(name, mp4Bytes(500))
        const extended = await fetch(`${ingest.url}/upload`, { method: 'POST', ...encoded })
        for (const [how, res] of [
          ['raw', raw],
          ['filename*', extended],
        ] as const) {
          const body = await res.json()
          expect(res.status, `${name}, ${how}: ${JSON.stringify(body)}`).toBe(202)
          const { job_id, filename } = UploadResponseSchema.parse(body)
          expect(filename, how).toBe(name)
          expect(await ingest.store.get(job_id), how).toMatchObject({ filename: name })
        }
      }
      // Control characters go, the rest stays.
      const { body, headers } = rawMultipart('видео\u0007\u202e.mp4', mp4Bytes(500))
      const cleaned = await fetch(`${ingest.url}/upload`, { method: 'POST', body, headers })
      expect(await cleaned.json()).toMatchObject({ filename: 'видео.mp4' })
    } finally {
      await ingest.close()
    }
  })
})

describe('slow uploads', () => {
  const multipartHead = text(
    '--b0undary\r\nContent-Disposition: form-data; name="file"; filename="slow.mp4"\r\n\r\n',
  )
  const first = new Uint8Array([...multipartHead, ...mp4Bytes(2000)])
  const headers = { 'content-type': 'multipart/form-data; boundary=b0undary' }

  it('drops an upload that stalls for UPLOAD_IDLE_TIMEOUT_MS with 408, and keeps no partial file', async () => {
    const t = await fixture.makeApp({ uploadIdleTimeoutMs: 300 })
    const started = Date.now()
    const res = await t.upload(slowBody(first), headers)
    expect(res.status).toBe(408)
    expect(await res.json()).toEqual({
      error: 'upload_timeout',
      message: 'Upload stalled: nothing received for 0.3s',
    })
    expect(Date.now() - started).toBeLessThan(5000)
    expect(await t.files()).toEqual([])
    expect(await fixture.client.xLen(t.store.keys.stream)).toBe(0)
  })

  it('drops an upload that trickles in past UPLOAD_TIMEOUT_MS however steadily it arrives', async () => {
    const t = await fixture.makeApp({ uploadIdleTimeoutMs: 500, uploadTimeoutMs: 1500 })
    const res = await t.upload(slowBody(first, 100), headers)
    expect(res.status).toBe(408)
    expect(await res.json()).toEqual({ error: 'upload_timeout', message: 'Upload took longer than 2s' })
    expect(await t.files()).toEqual([])
  })
})

describe('URL imports are checked at the door', () => {
  /** A test resolver: the names a real DNS could give any answer for. */
  const resolveHost = async (host: string) =>
    ({
      'cdn.example.com': ['93.184.216.34'],
      'internal.example.com': ['10.0.0.7'],
      'rebind.example.com': ['93.184.216.34', '127.0.0.1'],
    })[host] ?? Promise.reject(new Error('ENOTFOUND'))

  it('refuses loopback, private and metadata addresses, IPv6 forms and credentials with 400', async () => {
    const t = await fixture.makeApp({ resolveHost })
    const refused = {
      'http://127.0.0.1:8001/jobs': '127.0.0.1 is not a public address',
      'http://0x7f.0.0.1/a.mp4': '127.0.0.1 is not a public address',
      'http://[::ffff:127.0.0.1]/a.mp4': 'is not a public address',
      'http://169.254.169.254/latest/meta-data/': '169.254.169.254 is not a public address',
      'http://100.100.100.200/a.mp4': 'is not a public address',
      'http://internal.example.com/a.mp4':
        'internal.example.com resolves to 10.0.0.7, which is not a public address',
      'http://rebind.example.com/a.mp4': 'rebind.example.com resolves to 127.0.0.1',
      'https://admin:hunter2@cdn.example.com/a.mp4': 'URLs with credentials are not accepted',
    }
    for (const [url, message] of Object.entries(refused)) {
      const res = await t.importUrl({ url })
      expect(res.status, url).toBe(400)
      const body = await res.json()
      expect(body.error, url).toBe('url_not_allowed')
      expect(body.message, url).toContain(message)
    }
    const unknown = await t.importUrl({ url: 'http://no-such-host.example.com/a.mp4' })
    expect(unknown.status).toBe(400)
    expect(await unknown.json()).toMatchObject({ error: 'invalid_url' })
    expect(await fixture.client.xLen(t.store.keys.stream)).toBe(0)

    expect((await t.importUrl({ url: 'https://cdn.example.com/a.mp4' })).status).toBe(202)
  })

  it('refuses a host name that does not resolve in time with 400, and tells the resolver to stop', async () => {
    let stopped = false
    const t = await fixture.makeApp({
      resolveTimeoutMs: 300,
      // A DNS that never answers.
      resolveHost: (_host, signal) =>
        new Promise((_, reject) =>
          signal?.addEventListener('abort', () => {
            stopped = true
            reject(signal.reason)
          }),
        ),
    })
    const started = Date.now()
    const res = await t.importUrl({ url: 'https://slow.example.com/a.mp4' })
    expect(res.status).toBe(400)
    expect(await res.json()).toEqual({
      error: 'invalid_url',
      message: 'The host slow.example.com did not resolve within 0.3s',
    })
    expect(Date.now() - started).toBeLessThan(3000)
    expect(stopped).toBe(true)
    expect(await fixture.client.xLen(t.store.keys.stream)).toBe(0)
  }, 10_000)

  it("ingest's DNS resolver gives up on a name server that never answers, and stops when told", async () => {
    const silent = createSocket('udp4')
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve))
    const servers = [`127.0.0.1:${silent.address().port}`]
    try {
      const quick = dnsResolver({ servers, queryTimeoutMs: 100, tries: 2 })
      const error = await quick('video.example.com').catch((e: NodeJS.ErrnoException) => e)
      expect((error as NodeJS.ErrnoException).code).toBe('ETIMEOUT')

      // Its own timeout a minute away: only the signal can stop it sooner.
      const patient = dnsResolver({ servers, queryTimeoutMs: 60_000, tries: 1 })
      let started = Date.now()
      const cancelled = await patient('video.example.com', AbortSignal.timeout(200)).catch((e) => e)
      expect((cancelled as NodeJS.ErrnoException).code).toBe('ECANCELLED')
      expect(Date.now() - started).toBeLessThan(3000)

      const t = await fixture.makeApp({ resolveHost: patient, resolveTimeoutMs: 200 })
      started = Date.now()
      const res = await t.importUrl({ url: 'https://video.example.com/a.mp4' })
      expect(res.status).toBe(400)
      expect((await res.json()).error).toBe('invalid_url')
      expect(Date.now() - started).toBeLessThan(3000)
    } finally {
      silent.close()
    }
  }, 15_000)

  it('lets private addresses through with URL_IMPORT_ALLOW_PRIVATE, but never a metadata endpoint', async () => {
    const t = await fixture.makeApp({ resolveHost, allowPrivateUrls: true })
    expect((await t.importUrl({ url: 'http://127.0.0.1:9000/a.mp4' })).status).toBe(202)
    expect((await t.importUrl({ url: 'http://internal.example.com/a.mp4' })).status).toBe(202)
    const metadata = await t.importUrl({ url: 'http://169.254.169.254/latest/meta-data/' })
    expect(metadata.status).toBe(400)
  })
})
