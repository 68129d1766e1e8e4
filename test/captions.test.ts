/**
 * Caption tracks on completed jobs, through real HTTP against a real transcode: added (SRT
 * converted, WebVTT kept), listed, served, listed in the HLS master, deleted; refused when
 * hostile or too large; another key's job is 404. Local storage with keys on, S3 with keys off.
 */
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type Caption, type Job, JobSchema, UploadResponseSchema } from '@vpp/shared'
import {
  makeClip,
  queuedJob,
  startTestRedis,
  startTestS3,
  type TestRedis,
  type TestS3,
  tempDir,
} from '@vpp/shared/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { run } from '../packages/cli/src/run.ts'
import { createClient } from '../packages/client/src/index.ts'
import { eventually, type Pipeline, startPipeline } from './harness.ts'

const A = 'key-a-0123456789abcdef'
const B = 'key-b-0123456789abcdef'
const SECRET = 'media-secret-0123456789abcdef-0123456789'
const SRT =
  '1\r\n00:00:00,500 --> 00:00:01,500\r\nHello <i>there</i>\r\n\r\n2\r\n00:00:02,000 --> 00:00:03,000\r\nbye\r\n'
const VTT =
  'WEBVTT\n\n00:00:00.500 --> 00:00:01.500\nHello <i>there</i>\n\n00:00:02.000 --> 00:00:03.000\nbye\n'

let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let clip = ''

beforeAll(async () => {
  ;[redis, dir] = await Promise.all([startTestRedis(), tempDir()])
  clip = await makeClip(join(dir.path, 'clip.mp4'), { width: 640, height: 360, seconds: 4, audio: true })
})
afterAll(async () => {
  await redis?.stop()
  await dir?.remove()
})

const auth = (key?: string): Record<string, string> => (key ? { Authorization: `Bearer ${key}` } : {})

function form(file: string | Uint8Array, language = 'en', label = 'English', name = 'subs.srt') {
  const body = new FormData()
  body.append('file', new Blob([file as BlobPart]), name)
  body.append('language', language)
  body.append('label', label)
  return body
}

async function upload(p: Pipeline, key?: string, profiles = '360p,hls', video = clip): Promise<Job> {
  const body = new FormData()
  body.append('file', new Blob([await readFile(video)]), 'clip.mp4')
  body.append('profiles', profiles)
  const res = await fetch(`${p.ingest}/upload`, { method: 'POST', body, headers: auth(key) })
  if (res.status !== 202) throw new Error(`upload answered ${res.status}: ${await res.text()}`)
  const id = UploadResponseSchema.parse(await res.json()).job_id
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
    const job = JobSchema.parse(await (await fetch(`${p.status}/jobs/${id}`, { headers: auth(key) })).json())
    if (job.status === 'completed' || job.status === 'failed') return job
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`job ${id} did not finish`)
}

/** A media URL on the running status service (the test's PUBLIC_URL port is 0). */
const local = (p: Pipeline, url: string | null | undefined) => `${p.status}${new URL(url ?? '').pathname}`

async function post(p: Pipeline, id: string, body: FormData, key?: string) {
  const res = await fetch(`${p.status}/jobs/${id}/captions`, { method: 'POST', body, headers: auth(key) })
  return { status: res.status, body: await res.json() }
}

/** `vpp …args` against pipeline `p` (no key), in this process. */
async function vpp(p: Pipeline, args: string[]) {
  let stdout = ''
  let stderr = ''
  const code = await run(args, {
    env: { VPP_INGEST_URL: p.ingest, VPP_STATUS_URL: p.status },
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    signal: new AbortController().signal,
  })
  return { code, stdout, stderr }
}

const text = async (url: string) => {
  const res = await fetch(url)
  expect(res.status, url).toBe(200)
  return { type: res.headers.get('content-type'), body: await res.text() }
}

describe('caption tracks, local storage, keys on', () => {
  let p: Pipeline
  let job: Job
  beforeAll(async () => {
    p = await startPipeline(redis, join(dir.path, 'local'), {
      API_KEYS: `${A},${B}`,
      MEDIA_SIGNING_SECRET: SECRET,
    })
    await p.transcoder()
    job = await upload(p, A)
    expect(job.status, job.error).toBe('completed')
  }, 120_000)
  afterAll(async () => {
    await p?.close()
  })

  it('adds an SRT track as WebVTT, serves it signed, and lists it in the HLS master', async () => {
    const master = local(p, job.playback?.hls)
    const before = (await text(master)).body
    const added = await post(p, job.job_id, form(SRT, 'pt-br', 'Português'), A)
    expect(added.status, JSON.stringify(added.body)).toBe(201)
    const caption = added.body as Caption
    expect(caption).toMatchObject({ language: 'pt-BR', label: 'Português' })
    expect(caption.caption_id).toMatch(/^cap_[a-z0-9]{16}$/)
    // Signed like every media URL: fetched with no header.
    expect(caption.url).toMatch(
      new RegExp(`/media/[^/]+/${job.job_id}/captions/${caption.caption_id}/index\\.vtt$`),
    )
    expect(await text(local(p, caption.url))).toEqual({ type: 'text/vtt', body: VTT })

    const after = (await text(master)).body
    const media = `#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="Português",LANGUAGE="pt-BR",AUTOSELECT=YES,DEFAULT=NO,URI="../captions/${caption.caption_id}/index.m3u8"`
    expect(after.split('\n')).toContain(media)
    const variants = after.split('\n').filter((line) => line.startsWith('#EXT-X-STREAM-INF:'))
    expect(variants.length).toBeGreaterThan(0)
    for (const line of variants) expect(line.endsWith(',SUBTITLES="subs"')).toBe(true)
    expect(after.replace(`${media}\n`, '').replaceAll(',SUBTITLES="subs"', '')).toBe(before)
    // The playlist the master names, relative to the master's signed URL.
    const playlist = await text(new URL(`../captions/${caption.caption_id}/index.m3u8`, master).href)
    const seconds = Math.max(...job.outputs.map((o) => o.duration ?? 0))
    expect(seconds).toBeGreaterThan(3.9)
    expect(playlist.body).toBe(
      `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:${Math.ceil(seconds)}\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:${seconds.toFixed(3)},\nindex.vtt\n#EXT-X-ENDLIST\n`,
    )

    const record = JobSchema.parse(
      await (await fetch(`${p.status}/jobs/${job.job_id}`, { headers: auth(A) })).json(),
    )
    expect(record.captions).toEqual([caption])
    const list = await (await fetch(`${p.status}/jobs/${job.job_id}/captions`, { headers: auth(A) })).json()
    expect(list).toEqual({ captions: [caption] })

    const gone = await fetch(`${p.status}/jobs/${job.job_id}/captions/${caption.caption_id}`, {
      method: 'DELETE',
      headers: auth(A),
    })
    expect(gone.status).toBe(204)
    expect((await text(master)).body).toBe(before)
    expect((await fetch(local(p, caption.url))).status).toBe(404)
    const folder = join(dir.path, 'local', 'output', job.job_id, 'captions', caption.caption_id)
    expect(existsSync(folder)).toBe(false)
  })

  it("answers 404 for another key's job, 401 without a key", async () => {
    const url = `${p.status}/jobs/${job.job_id}/captions`
    expect((await post(p, job.job_id, form(SRT), B)).status).toBe(404)
    expect((await fetch(url, { headers: auth(B) })).status).toBe(404)
    expect((await fetch(`${url}/cap_x`, { method: 'DELETE', headers: auth(B) })).status).toBe(404)
    expect((await post(p, job.job_id, form(SRT))).status).toBe(401)
    expect((await fetch(`${url}/cap_x`, { method: 'DELETE', headers: auth(A) })).status).toBe(404)
  })

  it('refuses hostile and broken files, bad languages, big files and a taken label', async () => {
    const id = job.job_id
    const refused = async (body: FormData) => (await post(p, id, body, A)).body
    expect(await refused(form('1\n00:00:01,000 --> 00:00:02,000\n<script>alert(1)</script>\n'))).toEqual({
      error: 'invalid_captions',
      message: 'line 3: markup <script> is not allowed (only b, i, u, c, v, lang, ruby, rt and timestamps)',
    })
    expect(await refused(form('1\n00:00:02,000 --> 00:00:01,000\nx\n'))).toEqual({
      error: 'invalid_captions',
      message: 'line 2: a cue must end after it starts',
    })
    expect(await refused(form('1\n00:00:02,000 --> 00:00:09,000\nx\n'))).toEqual({
      error: 'invalid_captions',
      message: `line 2: the cue ends at 9 s, past the video's end (${Math.max(...job.outputs.map((o) => o.duration ?? 0))} s)`,
    })
    expect((await refused(form(SRT, 'not a language'))).error).toBe('invalid_captions')
    expect((await refused(form(SRT, 'en', 'say "hi"'))).error).toBe('invalid_captions')
    const big = await post(p, id, form(new Uint8Array(1.1 * 1024 * 1024).fill(0x41)), A)
    expect(big).toEqual({
      status: 413,
      body: {
        error: 'payload_too_large',
        message: 'The caption file is larger than 1048576 bytes (CAPTIONS_MAX_BYTES)',
      },
    })
    const missing = new FormData()
    missing.append('language', 'en')
    expect(await refused(missing)).toMatchObject({ error: 'bad_request' })

    const first = await post(p, id, form(SRT, 'en', 'Same'), A)
    expect(first.status).toBe(201)
    expect(await post(p, id, form(SRT, 'fr', 'Same'), A)).toMatchObject({
      status: 409,
      body: { error: 'caption_exists' },
    })
    await fetch(`${p.status}/jobs/${id}/captions/${first.body.caption_id}`, {
      method: 'DELETE',
      headers: auth(A),
    })
  })

  it('keeps both of two tracks added at once (one master rewrite at a time)', async () => {
    const id = job.job_id
    const added = await Promise.all(
      ['One', 'Two', 'Three'].map((label) => post(p, id, form(SRT, 'en', label), A)),
    )
    expect(added.map((a) => a.status)).toEqual([201, 201, 201])
    const master = (await text(local(p, job.playback?.hls))).body
    for (const a of added) expect(master).toContain(`URI="../captions/${a.body.caption_id}/index.m3u8"`)
    const list = await (await fetch(`${p.status}/jobs/${id}/captions`, { headers: auth(A) })).json()
    expect(list.captions.map((c: Caption) => c.label).sort()).toEqual(['One', 'Three', 'Two'])
  })

  it('refuses a job without an HLS stream (409), and removes the tracks with the job', async () => {
    const plain = await upload(p, A, '360p')
    expect(plain.status).toBe('completed')
    expect(await post(p, plain.job_id, form(SRT), A)).toMatchObject({
      status: 409,
      body: { error: 'no_hls_stream' },
    })
    const folder = join(dir.path, 'local', 'output', job.job_id, 'captions')
    expect(existsSync(folder)).toBe(true)
    expect(
      (await fetch(`${p.status}/jobs/${job.job_id}`, { method: 'DELETE', headers: auth(A) })).status,
    ).toBe(204)
    await eventually(() => !existsSync(folder), 15_000, 'the job folder removed')
  })
})

describe('caption tracks, S3, keys off, the chunked engine', () => {
  let s3: TestS3
  let p: Pipeline
  let job: Job
  beforeAll(async () => {
    s3 = await startTestS3()
    // Two-second chunks: a 6 s clip goes through the chunked engine.
    p = await startPipeline(redis, join(dir.path, 's3'), {
      ...s3.env,
      MAX_CAPTION_TRACKS: '2',
      CHUNK_SECONDS: '2',
    })
    await p.transcoder()
    const long = await makeClip(join(dir.path, 'six.mp4'), {
      width: 640,
      height: 360,
      seconds: 6,
      audio: true,
    })
    job = await upload(p, undefined, '360p,hls', long)
    expect(job.status, job.error).toBe('completed')
  }, 120_000)
  afterAll(async () => {
    await p?.close()
    await s3?.stop()
  })

  it('adds WebVTT tracks through the bucket, lists them in the master, up to MAX_CAPTION_TRACKS', async () => {
    const vtt = 'WEBVTT\n\n00:01.000 --> 00:02.000 align:start\n<v Ann>Hi</v>\n'
    const one = await post(p, job.job_id, form(vtt, 'en', 'English', 'a.vtt'))
    expect(one.status, JSON.stringify(one.body)).toBe(201)
    // Cues go through status (relative URIs), like the playlists.
    expect(one.body.url).toBe(
      `${new URL(job.playback?.hls ?? '').origin}/media/${job.job_id}/captions/${one.body.caption_id}/index.vtt`,
    )
    expect((await text(local(p, one.body.url))).body).toBe(
      'WEBVTT\n\n00:00:01.000 --> 00:00:02.000 align:start\n<v Ann>Hi</v>\n',
    )
    expect((await post(p, job.job_id, form(SRT, 'de', 'Deutsch'))).status).toBe(201)
    expect(await post(p, job.job_id, form(SRT, 'fr', 'Français'))).toEqual({
      status: 409,
      body: {
        error: 'caption_limit',
        message: `Job ${job.job_id} has 2 caption tracks already (MAX_CAPTION_TRACKS)`,
      },
    })
    const master = (await text(local(p, job.playback?.hls))).body
    expect(master.match(/TYPE=SUBTITLES/g)).toHaveLength(2)
    for (const line of master.split('\n').filter((l) => l.startsWith('#EXT-X-STREAM-INF:'))) {
      expect(line.endsWith(',SUBTITLES="subs"')).toBe(true)
    }
    // Made by the chunked engine: the stream it published while encoding, by chunk, is kept.
    const growing = new URL('360p/index.m3u8', local(p, job.playback?.hls)).href
    expect((await text(growing)).body).toMatch(/c\d{5}-l\d+-000\.m4s/)
    const playlist = new URL(`../captions/${one.body.caption_id}/index.m3u8`, local(p, job.playback?.hls))
      .href
    expect((await text(playlist)).body).toContain('index.vtt')
  })

  it('adds, lists and deletes tracks with the client and the CLI', async () => {
    const client = createClient({ ingestUrl: p.ingest, statusUrl: p.status })
    const before = await client.listCaptions(job.job_id)
    for (const track of before.captions) await client.deleteCaptions(job.job_id, track.caption_id)
    const added = await client.addCaptions(job.job_id, new Blob([SRT]), { language: 'es', label: 'Español' })
    expect(added).toMatchObject({ language: 'es', label: 'Español' })
    const file = join(dir.path, 'cli.srt')
    await writeFile(file, SRT)
    const cli = await vpp(p, [
      'captions',
      'add',
      job.job_id,
      file,
      '--language',
      'fr',
      '--label',
      'Français',
      '--json',
    ])
    expect(cli.code, cli.stderr).toBe(0)
    const second = JSON.parse(cli.stdout) as Caption
    expect(second).toMatchObject({ language: 'fr', label: 'Français' })
    const listed = await vpp(p, ['captions', 'list', job.job_id])
    expect(listed.stdout).toBe(
      `${[added, second].map((t) => `${t.caption_id}  ${t.language}  ${t.label}  ${t.url}`).join('\n')}\n`,
    )
    expect((await vpp(p, ['captions', 'add', job.job_id, file, '--language', 'fr'])).code).toBe(2)
    const refused = await vpp(p, [
      'captions',
      'add',
      job.job_id,
      file,
      '--language',
      'fr',
      '--label',
      'Français',
    ])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('caption_exists')
    expect((await vpp(p, ['captions', 'delete', job.job_id, second.caption_id])).stdout).toBe(
      `caption track ${second.caption_id} deleted\n`,
    )
    expect((await client.listCaptions(job.job_id)).captions).toEqual([added])
  })

  it('answers 409 for a job that is not completed', async () => {
    const id = 'not-done-0001'
    await p.store.create(queuedJob(id))
    expect(await post(p, id, form(SRT))).toMatchObject({ status: 409, body: { error: 'job_not_completed' } })
  })
})
