/**
 * Oversized and slow requests against the real ingest process, on Node (`npm run start:ingest`),
 * Bun and Deno (`npm run start:ingest:bun`, `:deno`), each in its own process group: a 300 MB
 * body to /upload-url is refused with 413 without the process growing by it, a JSON body that
 * trickles in gets 408 well within the idle timeout while an upload just as slow is accepted, a
 * body that stops short of its Content-Length gets 408 on every route that takes one (JSON,
 * multipart, tus creation and PATCH), and a connection that goes quiet is closed (Node and Bun:
 * Deno.serve has no connection timeouts to set).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { mp4Bytes, startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const MB = 1024 * 1024
/** The limits the services run with here: short, so the slow cases are quick. */
const REQUEST_TIMEOUT_MS = 1000
const UPLOAD_IDLE_TIMEOUT_MS = 2000

const RUNTIMES = ['node', 'bun', 'deno'] as const
type Runtime = (typeof RUNTIMES)[number]
interface Service {
  url: string
  port: number
  child: ChildProcess
}

let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
const services: Partial<Record<Runtime, Service>> = {}

/** Start ingest on `runtime` as its npm script does, in its own process group; resolves once it listens. */
async function start(runtime: Runtime): Promise<Service> {
  const [command, args] = {
    node: [process.execPath, ['--max-semi-space-size=1', '--import', 'tsx', 'packages/ingest/src/serve.ts']],
    bun: [join(ROOT, 'node_modules', '.bin', 'bun'), ['packages/ingest/src/serve.bun.ts']],
    // `.bin/deno` is a Node shim that starts the real binary, in the same process group.
    deno: [join(ROOT, 'node_modules', '.bin', 'deno'), ['run', '-A', 'packages/ingest/src/serve.deno.ts']],
  }[runtime] as [string, string[]]
  const child = spawn(command, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: redis.prefix(),
      DATA_DIR: join(dir.path, runtime),
      HOST: '127.0.0.1',
      INGEST_PORT: '0',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'info',
      RATE_LIMIT_PER_MINUTE: '0',
      REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      UPLOAD_IDLE_TIMEOUT_MS: String(UPLOAD_IDLE_TIMEOUT_MS),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  let stdout = ''
  let stderr = ''
  child.stderr?.on('data', (data: Buffer) => {
    stderr = (stderr + data.toString()).slice(-4000)
  })
  // The port it bound (INGEST_PORT=0) is in its "ingest listening" line.
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ingest on ${runtime} did not start: ${stderr}`)), 30_000)
    const onData = (data: Buffer) => {
      stdout += data.toString()
      const listening = /"msg":"ingest listening","port":(\d+)/.exec(stdout)
      if (!listening) return
      clearTimeout(timer)
      child.stdout?.off('data', onData).resume() // the request log lines are not needed
      resolve(Number(listening[1]))
    }
    child.stdout?.on('data', onData)
    child.once('exit', (code) => reject(new Error(`ingest on ${runtime} exited (${code}): ${stderr}`)))
  })
  return { url: `http://127.0.0.1:${port}`, port, child }
}

/** The largest peak resident memory (VmHWM) of the processes in a process group, in bytes. */
function peakRss(group: number | undefined): number {
  const pids = execFileSync('pgrep', ['-g', String(group)])
    .toString()
    .trim()
    .split('\n')
  return Math.max(
    ...pids.map(
      (pid) => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) * 1024,
    ),
  )
}

interface Answer {
  status: number
  body: string
  /** Body bytes the client had written when the answer came. */
  sent: number
  ms: number
}

/**
 * POST (or `method`) `head`, then `size` filler bytes, then `tail` to `url` over a plain
 * socket, written `piece` at a time as the socket takes them (nothing is built whole in
 * memory), pausing `pauseMs` between pieces; stops writing once an answer comes. `declared`:
 * send a Content-Length (else the body is chunked). Rejects when no answer comes within `waitMs`.
 *
 * A server that answers early closes the connection, and the client's next write then fails
 * (EPIPE); Node drops the socket on that error, and with it an answer that arrived in the same
 * instant but was not read yet. node:http reports the EPIPE alone; so would this, but for
 * `settleMs` (a pause after the first piece, and with a declared length after the head too, long
 * enough for an early answer to be read first) and a turn of the event loop's poll phase before
 * every later write.
 */
function post(
  url: string,
  options: {
    headers: Record<string, string>
    head: Uint8Array | string
    size: number
    tail?: string
    piece?: number
    pauseMs?: number
    settleMs?: number
    declared?: boolean
    /** The Content-Length to declare instead of the body's own (more: a body that stalls). */
    length?: number
    /** Default POST. */
    method?: string
    waitMs?: number
  },
): Promise<Answer> {
  const { hostname, port, pathname } = new URL(url)
  const head = Buffer.from(options.head)
  const tail = Buffer.from(options.tail ?? '')
  const filler = Buffer.alloc(Math.min(options.piece ?? 64 * 1024, Math.max(1, options.size)), 'a')
  const length = head.length + options.size + tail.length
  const started = Date.now()
  const socket = connect(Number(port), hostname)
  const lines = [
    `${options.method ?? 'POST'} ${pathname} HTTP/1.1`,
    `Host: ${hostname}:${port}`,
    'Connection: close',
  ]
  for (const [name, value] of Object.entries(options.headers)) lines.push(`${name}: ${value}`)
  lines.push(options.declared ? `Content-Length: ${options.length ?? length}` : 'Transfer-Encoding: chunked')
  const frame = (bytes: Buffer) =>
    options.declared || bytes.length === 0
      ? [bytes]
      : [Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\n')]

  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0)
    let sent = 0
    let answeredAt: number | undefined
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no answer within ${options.waitMs ?? 30_000} ms (${sent} bytes sent)`))
    }, options.waitMs ?? 30_000)
    /** The answer's status and body once it is all in (the app's answers carry a Content-Length). */
    const answer = () => {
      const text = received.toString('latin1')
      const split = text.indexOf('\r\n\r\n')
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1])
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text.slice(0, split))?.[1])
      const body = received.subarray(split + 4)
      return split >= 0 && status && body.length >= length
        ? { status, body: body.toString('utf8') }
        : undefined
    }
    const finish = () => {
      clearTimeout(timer)
      socket.destroy()
      const done = answer()
      if (!done)
        return reject(new Error(`no answer (${sent} bytes sent): ${JSON.stringify(String(received))}`))
      resolve({ ...done, sent: answeredAt ?? sent, ms: Date.now() - started })
    }
    socket.on('data', (data: Buffer) => {
      answeredAt ??= sent
      received = Buffer.concat([received, data])
      // Not every server closes after an early answer (Deno waits for the rest of the body).
      if (answer()) finish()
    })
    socket.on('error', () => {}) // the server closing under a write, once it has answered
    socket.once('close', finish)
    const write = (chunks: Buffer[]) =>
      new Promise<void>((done) => {
        if (socket.destroyed) return done()
        const ok = chunks.map((chunk) => socket.write(chunk)).every(Boolean)
        if (ok) setImmediate(done)
        else {
          const go = () => {
            socket.off('drain', go)
            socket.off('close', go)
            done()
          }
          socket.once('drain', go)
          socket.once('close', go)
        }
      })
    const writing = async () => {
      await write([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`)])
      // A declared length can be refused from the head alone: the answer is awaited before any
      // body byte, for a server that closes with bytes unread resets the connection (Bun does),
      // and the reset can arrive before the answer is read.
      if (options.declared && options.settleMs) {
        await new Promise((r) => setTimeout(r, options.settleMs))
        await new Promise((r) => setImmediate(r))
        if (answeredAt !== undefined || socket.destroyed) return
      }
      await write(frame(head))
      sent += head.length
      for (let left = options.size; left > 0; left -= filler.length) {
        if (answeredAt !== undefined || socket.destroyed) return
        const piece = left >= filler.length ? filler : filler.subarray(0, left)
        await write(frame(piece))
        const pause = sent === head.length ? (options.settleMs ?? options.pauseMs) : options.pauseMs
        sent += piece.length
        if (pause) await new Promise((r) => setTimeout(r, pause))
        // A timer runs before the loop's poll phase: an answer that came during the pause is read
        // (poll) before the next write (check phase), which would otherwise fail on the closed
        // connection and take the unread answer with it.
        await new Promise((r) => setImmediate(r))
      }
      if (answeredAt !== undefined || socket.destroyed) return
      await write([...frame(tail), ...(options.declared ? [] : [Buffer.from('0\r\n\r\n')])])
      sent += tail.length
    }
    socket.once('connect', () => void writing())
  })
}

const json = { 'content-type': 'application/json' }

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
  const started = await Promise.all(RUNTIMES.map(start))
  for (const [index, runtime] of RUNTIMES.entries()) services[runtime] = started[index]
}, 60_000)

/** Processes left in the services' process groups (pgrep -g). */
function leftOver(): string[] {
  return Object.values(services).flatMap((service) => {
    try {
      return execFileSync('pgrep', ['-g', String(service.child.pid)])
        .toString()
        .trim()
        .split('\n')
    } catch {
      return [] // pgrep exits 1 when nothing matches
    }
  })
}

afterAll(async () => {
  const signal = (name: NodeJS.Signals) => {
    for (const service of Object.values(services)) {
      try {
        process.kill(-(service.child.pid ?? 0), name)
      } catch {} // already gone
    }
  }
  signal('SIGTERM')
  for (let waited = 0; leftOver().length > 0 && waited < 10_000; waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  signal('SIGKILL')
  await redis?.stop()
  await dir?.remove()
  expect(leftOver()).toEqual([])
})

describe.each(RUNTIMES)('ingest on %s', (runtime) => {
  const service = () => {
    const s = services[runtime]
    if (!s) throw new Error(`ingest on ${runtime} is not running`)
    return s
  }

  it('refuses a 300 MB JSON body with 413 JSON, declared or chunked, and stays under 200 MB', async () => {
    const { url, child } = service()
    for (const declared of [true, false]) {
      const answer = await post(`${url}/upload-url`, {
        headers: json,
        head: '{"url":"https://cdn.example.com/',
        size: 300 * MB,
        tail: '.mp4"}',
        declared,
        settleMs: 200,
      })
      const what = `${runtime}, ${declared ? 'with' : 'without'} Content-Length`
      expect(answer.status, `${what}: ${answer.body}`).toBe(413)
      expect(JSON.parse(answer.body), what).toMatchObject({ error: 'payload_too_large' })
      expect(answer.sent, what).toBeLessThan(300 * MB)
    }
    expect(peakRss(child.pid)).toBeLessThan(200 * MB)
    // Still serving.
    const ok = await post(`${url}/upload-url`, {
      headers: json,
      head: '{"url":"https://93.184.216.34/a.mp4"}',
      size: 0,
    })
    expect(ok.status, ok.body).toBe(202)
  })

  it('answers a trickling JSON body with 408 within the idle timeout, and takes an upload as slow', async () => {
    const { url } = service()
    const [trickle, upload] = await Promise.all([
      post(`${url}/upload-url`, {
        headers: json,
        head: '{"url":"https://cdn.example.com/',
        size: 100,
        tail: '.mp4"}',
        piece: 1,
        pauseMs: 100,
        waitMs: UPLOAD_IDLE_TIMEOUT_MS + 5000,
      }),
      // The same pace for longer than REQUEST_TIMEOUT_MS: uploads have their own limits.
      post(`${url}/upload`, {
        headers: { 'content-type': 'multipart/form-data; boundary=b0undary' },
        head: Buffer.concat([
          Buffer.from(
            '--b0undary\r\nContent-Disposition: form-data; name="file"; filename="slow.mp4"\r\n\r\n',
          ),
          mp4Bytes(2000),
        ]),
        size: 2 * 1024,
        piece: 128,
        pauseMs: 100,
        tail: '\r\n--b0undary--\r\n',
      }),
    ])
    expect(trickle.status, trickle.body).toBe(408)
    expect(JSON.parse(trickle.body)).toMatchObject({ error: 'request_timeout' })
    expect(trickle.ms).toBeLessThan(UPLOAD_IDLE_TIMEOUT_MS)
    expect(upload.status, upload.body).toBe(202)
    expect(upload.ms).toBeGreaterThan(REQUEST_TIMEOUT_MS)
  })

  it('answers a body that stops short of its Content-Length with 408 on every route that takes a body', async () => {
    const { url } = service()
    const tus = { 'tus-resumable': '1.0.0' }
    const created = await fetch(`${url}/uploads`, {
      method: 'POST',
      headers: { ...tus, 'upload-length': '5000' },
    })
    expect(created.status).toBe(201)
    const upload = new URL(created.headers.get('location') ?? '').pathname
    const chunk = { ...tus, 'content-type': 'application/offset+octet-stream' }
    /** `head`, announced as 1000 bytes, and then nothing. */
    const stalled = (
      path: string,
      headers: Record<string, string>,
      head: string | Uint8Array,
      method?: string,
    ) =>
      post(`${url}${path}`, {
        method,
        headers,
        head,
        size: 0,
        declared: true,
        length: 1000,
        waitMs: 3 * UPLOAD_IDLE_TIMEOUT_MS,
      })
    const answers = await Promise.all([
      stalled('/upload-url', json, '{"url":"https://cdn.example.com/'),
      stalled(
        '/upload',
        { 'content-type': 'multipart/form-data; boundary=b0undary' },
        Buffer.concat([
          Buffer.from('--b0undary\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n\r\n'),
          mp4Bytes(100),
        ]),
      ),
      stalled(upload, { ...chunk, 'upload-offset': '0' }, mp4Bytes(100), 'PATCH'),
      stalled('/uploads', { ...chunk, 'upload-length': '5000' }, mp4Bytes(100)),
    ])
    const got = answers.map((answer) => [answer.status, JSON.parse(answer.body).error])
    expect(got).toEqual([
      [408, 'request_timeout'],
      [408, 'upload_timeout'],
      [408, 'upload_timeout'],
      [408, 'upload_timeout'],
    ])
  })

  it.skipIf(runtime === 'deno')(
    'closes a connection that goes quiet, between requests or halfway through one',
    async () => {
      const { port } = service()
      const quiet = {
        'after a request': 'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n',
        'halfway through a JSON body':
          'POST /upload-url HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n' +
          'Content-Length: 100\r\n\r\n{"url":"https://',
        // Bun closes these after about 10 s whatever it is told; Node waits REQUEST_TIMEOUT_MS.
        ...(runtime === 'node' && {
          'halfway through the headers': 'POST /upload-url HTTP/1.1\r\nHost: localhost\r\nContent-Ty',
        }),
      }
      const closed = await Promise.all(
        Object.entries(quiet).map(
          ([what, bytes]) =>
            new Promise<string>((resolve) => {
              const socket = connect(port, '127.0.0.1')
              socket.on('data', () => {}) // an answer, if the server sends one first
              socket.on('error', () => {})
              socket.write(bytes)
              const timer = setTimeout(() => {
                socket.destroy()
                resolve(`${what}: still open`)
              }, UPLOAD_IDLE_TIMEOUT_MS + 10_000)
              socket.once('close', () => {
                clearTimeout(timer)
                resolve(`${what}: closed`)
              })
            }),
        ),
      )
      expect(closed).toEqual(Object.keys(quiet).map((what) => `${what}: closed`))
    },
  )
})
