/**
 * Hostile input against the running pipeline: files that try to make ffmpeg read local files,
 * absurd inputs, URL imports aimed inside the network, uploads that never end. Each must end with
 * a clear error while the pipeline keeps serving everyone else.
 */
import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { type AddressInfo, connect } from 'node:net'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { Job } from '@vpp/shared'
import { makeClip, queuedJob, startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Pipeline, startPipeline } from './harness.ts'

const run = promisify(execFile)
let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let pipeline: Pipeline
let internal: Server
let internalHits = 0
/** A file only this test knows: if its marker shows up in any output, ffmpeg read it. */
const MARKER = `SECRET-${randomUUID()}`
const files = {
  secret: '',
  hls: '',
  concat: '',
  huge: '',
  streams: '',
  long: '',
  good: '',
  giants: '',
  manyGiants: '',
  forgedShort: '',
  forgedLong: '',
  eightK: '',
}
/** Jobs of the attacks below that completed (their outputs are the only ones allowed). */
const completed: string[] = []
/** FFMPEG_MEMORY_LIMIT_MB of the pipeline: every probe below must fit in it. */
const MEMORY_LIMIT_MB = 1024

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
  const at = (name: string) => join(dir.path, name)
  // .ts is on the HLS demuxer's own list of segment extensions: only our confinement stops it.
  files.secret = at('secret.ts')
  await writeFile(files.secret, `${MARKER}\n`.repeat(2000))
  files.hls = at('hls.mp4')
  await writeFile(
    files.hls,
    `#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:10.0,\nfile:///etc/passwd\n#EXTINF:10.0,\nfile://${files.secret}\n#EXT-X-ENDLIST\n`,
  )
  files.concat = at('concat.mp4')
  await writeFile(files.concat, `ffconcat version 1.0\nfile /etc/passwd\nfile ${files.secret}\n`)
  files.huge = await hugeAvi(at('huge.avi'))
  files.streams = at('streams.mkv')
  await run('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=64x64:duration=1'],
    ...['-f', 'lavfi', '-i', 'anullsrc=duration=1', '-map', '0:v'],
    ...Array.from({ length: 20 }, () => ['-map', '1:a']).flat(),
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'libopus', files.streams],
  ])
  files.long = await makeClip(at('long.mp4'), { width: 160, height: 120, seconds: 3, audio: false })
  files.good = await makeClip(at('good.mp4'), { width: 320, height: 240, seconds: 1, audio: true })
  // The tester's file: one 16000x16000 H.264 frame (0.75 MB), its stream copied 8 times (probing
  // every stream took 4.35 GB), and 17 times (over MAX_STREAMS).
  const giant = at('giant.mp4')
  await ffmpeg(
    '-f',
    'lavfi',
    '-i',
    'color=s=16000x16000',
    '-frames',
    '1',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    giant,
  )
  files.giants = await copies(giant, 8, at('giants.mp4'))
  files.manyGiants = await copies(giant, 17, at('many-giants.mp4'))
  // Matroska whose Segment Duration lies: 8 s claiming 1 s (past MAX_DURATION_SECONDS, 2), and
  // 1 s claiming 1.9 s (within it: the record must say what was written).
  files.forgedShort = await forgedMatroska(at('forged-short.mkv'), 8, 1)
  files.forgedLong = await forgedMatroska(at('forged-long.mkv'), 1, 1.9)
  // 8K, two black frames (100 KB): fine to probe, too large to encode within a small limit.
  files.eightK = at('8k.mp4')
  await ffmpeg(
    '-f',
    'lavfi',
    '-i',
    'color=black:s=7680x4320:r=1:d=2',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    files.eightK,
  )

  internal = createServer((_req, res) => {
    internalHits++
    res.end('internal admin page')
  })
  await new Promise<void>((resolve) => internal.listen(0, '127.0.0.1', resolve))

  pipeline = await startPipeline(redis, join(dir.path, 'data'), {
    MAX_DURATION_SECONDS: '2',
    UPLOAD_IDLE_TIMEOUT_MS: '500',
    TRANSCODE_PROFILES: '360p,thumbnail',
    FFMPEG_MEMORY_LIMIT_MB: String(MEMORY_LIMIT_MB),
  })
  await pipeline.transcoder()
})

afterAll(async () => {
  await pipeline?.close()
  await new Promise((resolve) => internal?.close(resolve))
  await redis?.stop()
  await dir?.remove()
})

const ffmpeg = (...args: string[]) => run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args])

/** `source`'s video stream `times` times over in one MP4, by stream copy. */
async function copies(source: string, times: number, path: string): Promise<string> {
  const maps = Array.from({ length: times }, () => ['-map', '0:v']).flat()
  await ffmpeg('-i', source, ...maps, '-c', 'copy', path)
  return path
}

/** A 64x64 Matroska `seconds` long at 10 fps whose Segment Duration says `claims` seconds. */
async function forgedMatroska(path: string, seconds: number, claims: number): Promise<string> {
  await ffmpeg(
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=64x64:rate=10:duration=${seconds}`,
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    path,
  )
  const bytes = await readFile(path)
  // Duration (EBML ID 0x4489), an 8-byte float in milliseconds (TimestampScale 1 ms).
  const at = bytes.indexOf(Buffer.from([0x44, 0x89, 0x88]))
  expect(bytes.readDoubleBE(at + 3)).toBe(seconds * 1000)
  bytes.writeDoubleBE(claims * 1000, at + 3)
  await writeFile(path, bytes)
  return path
}

/**
 * Run `during` while watching every process whose command line names `marker` (the job's id is
 * in its input's path); the highest VmHWM (peak resident memory) any of them reached, in MB.
 */
async function peakMemoryMb<T>(marker: string, during: Promise<T>): Promise<{ result: T; peakMb: number }> {
  let done = false
  let peakKb = 0
  const watch = (async () => {
    while (!done) {
      for (const pid of (await readdir('/proc')).filter((name) => /^\d+$/.test(name))) {
        const status = await readFile(`/proc/${pid}/cmdline`, 'utf8')
          .then((line) => (line.includes(marker) ? readFile(`/proc/${pid}/status`, 'utf8') : ''))
          .catch(() => '')
        const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0)
        peakKb = Math.max(peakKb, hwm)
      }
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
  })()
  try {
    return { result: await during, peakMb: peakKb / 1024 }
  } finally {
    done = true
    await watch
  }
}

/** An FFV1 AVI whose headers claim 16000x16000 (256 megapixels a frame). */
async function hugeAvi(path: string): Promise<string> {
  const small = `${path}.small.avi`
  await run('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10'],
    ...['-t', '1', '-c:v', 'ffv1', small],
  ])
  const bytes = await readFile(small)
  const avih = bytes.indexOf('avih')
  bytes.writeUInt32LE(16000, avih + 8 + 32)
  bytes.writeUInt32LE(16000, avih + 8 + 36)
  const strf = bytes.indexOf('strf')
  bytes.writeInt32LE(16000, strf + 8 + 4)
  bytes.writeInt32LE(16000, strf + 8 + 8)
  await writeFile(path, bytes)
  return path
}

/**
 * Put a file where an upload lands and queue it, skipping ingest's content check: the
 * transcoder must refuse it on its own (a second line, for whatever gets past the first).
 */
async function plant(path: string | null, job: Partial<Job> = {}): Promise<string> {
  const id = randomUUID()
  const uploads = join(dir.path, 'data', 'uploads')
  await mkdir(uploads, { recursive: true })
  if (path) await copyFile(path, join(uploads, id))
  await pipeline.store.create(queuedJob(id, { filename: path?.split('/').pop() ?? 'import.mp4', ...job }))
  return id
}

/** Every file below `root`, recursively. */
async function walk(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true, recursive: true })
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name))
}

describe('ffmpeg only ever reads the stored file', () => {
  it('fails an HLS playlist and an ffconcat script named .mp4, reading nothing they name', async () => {
    const hls = await pipeline.waitFor(await plant(files.hls), ['completed', 'failed'])
    expect(hls).toMatchObject({
      status: 'failed',
      attempts: 1,
      error_code: 'unsupported_container',
      error: 'Input container hls is not accepted; use mp4, mov, avi, mkv or webm',
      outputs: [],
    })
    const concat = await pipeline.waitFor(await plant(files.concat), ['completed', 'failed'])
    expect(concat).toMatchObject({
      status: 'failed',
      error_code: 'unsupported_container',
      error: 'Input container concat is not accepted; use mp4, mov, avi, mkv or webm',
    })
  })

  it('fails an input claiming 16000x16000 before decoding a frame', async () => {
    const job = await pipeline.waitFor(await plant(files.huge), ['completed', 'failed'])
    expect(job).toMatchObject({
      status: 'failed',
      attempts: 1,
      error_code: 'resolution_too_large',
      error: 'Input is 16000x16000 (256000000 pixels); at most 33177600 are accepted (MAX_PIXELS)',
    })
  })

  it('fails inputs over MAX_STREAMS and MAX_DURATION_SECONDS with the limit named', async () => {
    const streams = await pipeline.waitFor(await plant(files.streams), ['completed', 'failed'])
    expect(streams).toMatchObject({
      status: 'failed',
      error_code: 'too_many_streams',
      error: 'Input has 21 streams; at most 16 are accepted (MAX_STREAMS)',
    })
    const long = await pipeline.waitFor(await plant(files.long), ['completed', 'failed'])
    expect(long).toMatchObject({
      status: 'failed',
      error_code: 'duration_too_long',
      error: 'Input is 3s long; at most 2s is accepted (MAX_DURATION_SECONDS)',
    })
  })

  it('refuses 8 streams of 16000x16000 from the container headers, probing within 1 GB', async () => {
    const id = await plant(files.giants)
    const { result: job, peakMb } = await peakMemoryMb(id, pipeline.waitFor(id, ['completed', 'failed']))
    expect(job).toMatchObject({
      status: 'failed',
      attempts: 1,
      error_code: 'resolution_too_large',
      error: 'Input is 16000x16000 (256000000 pixels); at most 33177600 are accepted (MAX_PIXELS)',
    })
    expect(peakMb).toBeLessThan(1024)
  })

  it('refuses a file over MAX_STREAMS before decoding any of them', async () => {
    const id = await plant(files.manyGiants)
    const { result: job, peakMb } = await peakMemoryMb(id, pipeline.waitFor(id, ['completed', 'failed']))
    expect(job).toMatchObject({
      status: 'failed',
      attempts: 1,
      error_code: 'too_many_streams',
      error: 'Input has 17 streams; at most 16 are accepted (MAX_STREAMS)',
    })
    // Decoding one frame of each of the 17 streams would take about 0.5 GB a stream.
    expect(peakMb).toBeLessThan(256)
  })

  it('fails a Matroska whose container claims less than it holds, publishing nothing', async () => {
    const id = await plant(files.forgedShort)
    const job = await pipeline.waitFor(id, ['completed', 'failed'])
    expect(job).toMatchObject({
      status: 'failed',
      attempts: 1,
      error_code: 'duration_too_long',
      error:
        'Input runs past 2s, though its container says 1s; at most 2s is accepted (MAX_DURATION_SECONDS)',
      outputs: [],
    })
    await expect(readdir(join(dir.path, 'data', 'output', id))).rejects.toThrow(/ENOENT/)
  })

  it('records the duration ffmpeg wrote, not the one the container claims', async () => {
    const job = await pipeline.waitFor(await plant(files.forgedLong), ['completed', 'failed'])
    expect(job.status).toBe('completed')
    completed.push(job.job_id)
    const video = job.outputs.filter((output) => output.profile !== 'thumbnail')
    expect(video.length).toBeGreaterThan(0)
    for (const output of video) {
      expect(output.duration, output.profile).toBeGreaterThanOrEqual(0.9)
      expect(output.duration, output.profile).toBeLessThanOrEqual(1.1)
    }
  })

  it('fails a URL import aimed at a loopback service without connecting to it', async () => {
    const port = (internal.address() as AddressInfo).port
    const id = await plant(null, { source: 'url', source_url: `http://localhost:${port}/clip.mp4` })
    const job = await pipeline.waitFor(id, ['completed', 'failed'])
    expect(job).toMatchObject({ status: 'failed', error_code: 'url_not_allowed', attempts: 1 })
    expect(job.error).toMatch(/^localhost resolves to (127\.0\.0\.1|::1), which is not a public address$/)
    expect(internalHits).toBe(0)
    // Over HTTP, the status service shows the code too.
    const shown = await (await fetch(`${pipeline.status}/jobs/${id}`)).json()
    expect(shown).toMatchObject({ error_code: 'url_not_allowed' })
  })

  it('keeps serving honest uploads, and no file anywhere holds bytes of a file the attacks named', async () => {
    const good = await pipeline.waitFor(await pipeline.upload(files.good), ['completed', 'failed'])
    expect(good.status).toBe('completed')
    const passwd = (await readFile('/etc/passwd', 'utf8')).split('\n')[0] ?? 'root:x:0:0'
    for (const path of await walk(join(dir.path, 'data'))) {
      const content = await readFile(path, 'latin1')
      expect(content.includes(MARKER), path).toBe(false)
      expect(content.includes(passwd), path).toBe(false)
    }
    // Failed jobs made no output directory at all.
    const outputs = (await readdir(join(dir.path, 'data', 'output'))).filter((name) => !name.startsWith('.'))
    expect(outputs.sort()).toEqual([good.job_id, ...completed].sort())
  })
})

describe('a memory limit on every ffmpeg', () => {
  it('ends a job whose ffmpeg goes over FFMPEG_MEMORY_LIMIT_MB as resource_limit, and the transcoder stays healthy', async () => {
    // 640 MB of address space: an ordinary clip fits, an 8K encode does not. One failure counted
    // against the transcoder's health would make it sick (SICK_AFTER_FAILURES=1).
    const limited = await startPipeline(redis, join(dir.path, 'limited'), {
      TRANSCODE_PROFILES: '360p,thumbnail',
      FFMPEG_MEMORY_LIMIT_MB: '640',
      FFMPEG_THREADS: '1',
      SICK_AFTER_FAILURES: '1',
    })
    try {
      const transcoder = `http://127.0.0.1:${(await limited.transcoder()).port}`
      const job = await limited.waitFor(await limited.upload(files.eightK), ['completed', 'failed'])
      expect(job).toMatchObject({
        status: 'failed',
        attempts: 1,
        error_code: 'resource_limit',
        error: 'ffmpeg needed more memory than its limit of 640 MB (FFMPEG_MEMORY_LIMIT_MB)',
        outputs: [],
      })
      expect((await fetch(`${transcoder}/healthz`)).status).toBe(200)
      const good = await limited.waitFor(await limited.upload(files.good), ['completed', 'failed'])
      expect(good.status).toBe('completed')
    } finally {
      await limited.close()
    }
  })
})

describe('at the door, over real HTTP', () => {
  it('refuses an HLS playlist named .mp4 with 415', async () => {
    const res = await pipeline.uploadResponse(files.hls, 'holiday.mp4')
    expect(res.status).toBe(415)
    expect((await res.json()).error).toBe('invalid_file_type')
  })

  it('answers a stalled upload with 408, keeps no partial file, and serves others meanwhile', async () => {
    const { port } = new URL(pipeline.ingest)
    const socket = connect(Number(port), '127.0.0.1')
    const reply = new Promise<string>((resolve) => {
      let data = ''
      socket.on('data', (chunk) => {
        data += chunk.toString()
      })
      socket.on('close', () => resolve(data))
      socket.on('error', () => resolve(data))
    })
    const part = '--b\r\nContent-Disposition: form-data; name="file"; filename="stall.mp4"\r\n\r\n'
    socket.write(
      'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n' +
        'Content-Length: 10000000\r\n\r\n',
    )
    socket.write(part)
    socket.write(Buffer.from([0, 0, 0, 0x18, ...Buffer.from('ftypisom'), 0, 0, 2, 0, 1, 2, 3]))
    // While it hangs, others are served.
    expect((await fetch(`${pipeline.ingest}/healthz`)).status).toBe(200)
    const text = await reply
    expect(text).toMatch(/^HTTP\/1\.1 408/)
    expect(text).toContain('"error":"upload_timeout"')
    const uploads = await readdir(join(dir.path, 'data', 'uploads'))
    expect(uploads.filter((name) => name.endsWith('.part'))).toEqual([])
  })
})
