/**
 * The chunked engine end to end: a video cut into chunks that every transcoder takes, its stream
 * playable before the job is done, a transcoder killed mid-chunk costing that chunk only, a
 * cancel that stops every chunk at once. Real redis-server, real ffmpeg, real HTTP; the victim a
 * child process killed with SIGKILL.
 */
import { execFile } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { makeClip, startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { eventually, type Pipeline, processesMatching, startPipeline } from './harness.ts'
import { openSse } from './sse.ts'

const run = promisify(execFile)
const FPS = 24
let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let pipeline: Pipeline | undefined
const clips = { thirty: '', ten: '' }

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
  ;[clips.thirty, clips.ten] = await Promise.all([
    makeClip(`${dir.path}/thirty.mp4`, { width: 854, height: 480, seconds: 30, audio: true, fps: FPS }),
    makeClip(`${dir.path}/ten.mp4`, { width: 640, height: 360, seconds: 10, audio: true, fps: FPS }),
  ])
})
afterEach(async () => {
  await pipeline?.close()
  pipeline = undefined
})
afterAll(async () => {
  await redis?.stop()
  await dir?.remove()
})

/** Presentation times of a stream's packets (ascending), and which are keyframes. */
async function packets(path: string, stream: string) {
  const { stdout } = await run('ffprobe', [
    ...['-v', 'error', '-protocol_whitelist', 'file,http,tcp', '-select_streams', stream],
    ...['-show_entries', 'packet=pts_time,duration_time,flags', '-of', 'csv=p=0', path],
  ])
  return stdout
    .trim()
    .split('\n')
    .map((line) => line.split(','))
    .filter(([pts]) => pts !== undefined && Number.isFinite(Number(pts)))
    .map(([pts, duration, flags]) => ({
      pts: Number(pts),
      duration: Number(duration),
      key: !!flags?.includes('K'),
    }))
    .sort((a, b) => a.pts - b.pts)
}

const folder = (p: Pipeline, id: string) => join(p.env.DATA_DIR ?? '', 'output', id)

/** The chunk hash of a job, as Redis holds it (empty once the job is assembled). */
const chunkHash = (p: Pipeline, id: string) => p.store.client.hGetAll(p.store.keys.chunkJob(id))

/**
 * Watch a job's items as they go (the record goes once the job is assembled): `seen` gets each
 * item's fields (`holder`, `state`, `attempts`, ...) every 25 ms. Returns the stop.
 */
function watchItems(p: Pipeline, id: string, seen: (item: string, key: string, value: string) => void) {
  const timer = setInterval(async () => {
    const hash = await chunkHash(p, id).catch(() => ({}) as Record<string, string>)
    for (const [field, value] of Object.entries(hash)) {
      const [item, key] = field.split(':')
      if (item && key) seen(item, key, value)
    }
  }, 25)
  return () => clearInterval(timer)
}

describe('a chunked job', () => {
  it('plays across every join: continuous packets, keyframes at the same times in every rung, the source length', async () => {
    pipeline = await startPipeline(redis, `${dir.path}/joins`, {
      CHUNK_SECONDS: '4',
      TRANSCODE_PROFILES: '480p,360p,hls,thumbnail,storyboard',
    })
    const p = pipeline
    const transcoder = await p.transcoder()
    const id = await p.upload(clips.thirty)
    const job = await p.waitFor(id, ['completed', 'failed'], 120_000)
    expect(job.status).toBe('completed')
    // Counted: every chunk and the audio once, one time to playable, a duration for each item.
    const metrics = await (await fetch(`http://127.0.0.1:${transcoder.port}/metrics`)).text()
    const value = (series: string) =>
      Number(
        metrics
          .split('\n')
          .find((line) => line.startsWith(series))
          ?.split(' ')
          .pop(),
      )
    const chunks = Number(
      (await readFile(join(folder(p, id), 'hls', '360p', 'index.m3u8'), 'utf8')).match(
        /c\d{5}-l\d+-000\.m4s/g,
      )?.length,
    )
    expect(value('video_chunks_processed_total{status="completed"')).toBe(chunks + 1)
    expect(value('video_chunk_duration_seconds_count')).toBe(chunks + 1)
    expect(value('video_time_to_playable_seconds_count')).toBe(1)
    const out = folder(p, id)
    const master = join(out, 'hls', 'master.m3u8')
    const { stderr } = await run('ffmpeg', [
      '-v',
      'error',
      '-i',
      master,
      '-map',
      '0:v:0',
      '-map',
      '0:a:0',
      '-f',
      'null',
      '-',
    ])
    expect(stderr).toBe('')
    const starts: number[][] = []
    for (const rung of ['480p', '360p']) {
      const index = join(out, 'hls', rung, 'index.m3u8')
      const text = await readFile(index, 'utf8')
      expect(text).toContain('#EXT-X-PLAYLIST-TYPE:VOD')
      expect(text).toContain('#EXT-X-ENDLIST')
      const video = await packets(index, 'v:0')
      // Every frame of the source once, one frame apart across every join.
      expect(video).toHaveLength(30 * FPS)
      for (let i = 1; i < video.length; i++)
        expect(
          Math.abs((video[i]?.pts ?? 0) - (video[i - 1]?.pts ?? 0) - 1 / FPS),
          `${rung} frame ${i}`,
        ).toBeLessThan(0.002)
      // Each segment starts with a keyframe, at the same time in every rung.
      const segmentStarts: number[] = []
      let at = video[0]?.pts ?? 0
      for (const line of text.split('\n').filter((l) => l.startsWith('#EXTINF:'))) {
        const start = at
        expect(video.find((v) => Math.abs(v.pts - start) < 0.002)?.key, `${rung} segment at ${start}`).toBe(
          true,
        )
        segmentStarts.push(Math.round(start * 1000))
        at += Number.parseFloat(line.slice(8))
      }
      starts.push(segmentStarts)
    }
    expect(starts[0]).toEqual(starts[1])
    // The MP4s: the stream's frame count, audio and video of the source's length, a clean decode.
    for (const name of ['480p.mp4', '360p.mp4']) {
      const path = join(out, name)
      const video = await packets(path, 'v:0')
      const audio = await packets(path, 'a:0')
      expect(video).toHaveLength(30 * FPS)
      const videoEnd = (video.at(-1)?.pts ?? 0) + 1 / FPS
      const audioEnd = (audio.at(-1)?.pts ?? 0) + (audio.at(-1)?.duration ?? 0)
      expect(Math.abs(videoEnd - 30)).toBeLessThan(1 / FPS)
      expect(Math.abs(audioEnd - videoEnd)).toBeLessThan(1 / FPS)
      const decoded = await run('ffmpeg', ['-v', 'error', '-i', path, '-f', 'null', '-'])
      expect(decoded.stderr).toBe('')
    }
    expect(job.outputs.find((o) => o.profile === '360p')?.duration).toBeCloseTo(30, 1)
    // Stored once: the stream from now on is byte ranges of the MP4s, muxed; the growing one (ended
    // above) stays for its players until the retention sweep removes it.
    const final = await readFile(master, 'utf8')
    expect(final).not.toContain('TYPE=AUDIO')
    expect([...final.matchAll(/#EXT-X-STREAM-INF:.*\n(.*)\n/g)].map((m) => m[1])).toEqual([
      '480p.m3u8',
      '360p.m3u8',
    ])
    const rung = await readFile(join(out, 'hls', '360p.m3u8'), 'utf8')
    expect(rung).toMatch(/#EXT-X-MAP:URI="\.\.\/360p\.mp4",BYTERANGE="\d+@0"/)
    expect(rung.match(/#EXT-X-BYTERANGE:\d+@\d+\n\.\.\/360p\.mp4\n/g)?.length).toBeGreaterThanOrEqual(7)
    const [leftovers] = await p.store.retention.leftoversDue(new Date(Date.now() + 3600_000), 10)
    expect(leftovers).toMatchObject({ job: id, folders: ['hls/480p', 'hls/360p', 'hls/audio'] })
    // Assembled: the pieces and the chunk record are gone.
    expect(await chunkHash(p, id)).toEqual({})
  }, 180_000)

  it('keeps a portrait phone video upright: the parts lose the rotation, the chunk runs apply it', async () => {
    pipeline = await startPipeline(redis, `${dir.path}/rotated`, {
      CHUNK_SECONDS: '4',
      TRANSCODE_PROFILES: '360p',
    })
    const p = pipeline
    await p.transcoder()
    const rotated = await makeClip(`${dir.path}/rotated.mp4`, {
      ...{ width: 640, height: 360, seconds: 12, fps: FPS, rotate: 90, audio: false },
    })
    const id = await p.upload(rotated)
    expect((await p.waitFor(id, ['completed', 'failed'])).status).toBe('completed')
    const { stdout } = await run('ffprobe', [
      ...['-v', 'error', '-show_entries', 'stream=width,height', '-of', 'csv=p=0'],
      join(folder(p, id), '360p.mp4'),
    ])
    expect(stdout.trim()).toBe('360,640')
  }, 120_000)

  it('is playable before it is done: playback.hls while processing, the published part decodes, job.playable before job.completed', async () => {
    pipeline = await startPipeline(redis, `${dir.path}/early`, {
      CHUNK_SECONDS: '2',
      WORKER_CONCURRENCY: '1',
      FFMPEG_THREADS: '1',
      TRANSCODE_PROFILES: '360p,hls',
    })
    const p = pipeline
    const id = await p.upload(clips.thirty)
    const sse = openSse(`${p.status}/jobs/${id}/events`)
    await sse.waitFor(1)
    await p.transcoder()
    let playable: { status: string; playback?: { hls: string | null } | undefined } | undefined
    await eventually(
      async () => {
        const res = await fetch(`${p.status}/jobs/${id}`)
        playable = (await res.json()) as typeof playable
        return !!playable?.playback?.hls || playable?.status === 'completed'
      },
      60_000,
      'playback.hls',
    )
    expect(playable?.status).toBe('processing')
    // Under PUBLIC_URL (not set here): the same path on the status service the test started.
    const masterUrl = new URL(new URL(playable?.playback?.hls ?? '').pathname, p.status).href
    const master = await (await fetch(masterUrl)).text()
    // With its sound from the first play: the audio rendition is published as it is encoded.
    expect(master).toContain('#EXT-X-MEDIA:TYPE=AUDIO')
    const audioUrl = new URL('audio/index.m3u8', masterUrl).href
    expect(await (await fetch(audioUrl)).text()).toMatch(/^audio-l\d+-\d{3}\.m4s$/m)
    const rung = master.split('\n').find((line) => line.endsWith('index.m3u8') && !line.startsWith('#')) ?? ''
    const rungUrl = new URL(rung, masterUrl).href
    const growing = await (await fetch(rungUrl)).text()
    expect(growing).toContain('#EXT-X-PLAYLIST-TYPE:EVENT')
    expect(growing).not.toContain('#EXT-X-ENDLIST')
    // What is published so far decodes (a copy, ended: ffmpeg would wait on a growing one).
    const copy = join(dir.path, 'published.m3u8')
    const absolute = growing
      .split('\n')
      .map((line) => (line.endsWith('.m4s') ? new URL(line, rungUrl).href : line))
      .join('\n')
      .replace(/URI="([^"]+)"/, (_, uri: string) => `URI="${new URL(uri, rungUrl).href}"`)
    await writeFile(copy, `${absolute}#EXT-X-ENDLIST\n`)
    const video = await packets(copy, 'v:0')
    expect(video.length).toBeGreaterThanOrEqual(2 * FPS)
    expect(video.length).toBeLessThan(30 * FPS)
    await sse.ended
    const types = sse.events.map((e) => e.event)
    expect(types.indexOf('job.playable')).toBeGreaterThan(types.indexOf('job.processing'))
    expect(types.indexOf('job.playable')).toBeLessThan(types.indexOf('job.completed'))
    expect(types.filter((t) => t === 'job.playable')).toHaveLength(1)
  }, 180_000)

  it('is shared by two transcoders; a SIGKILLed one costs its own chunk only', async () => {
    pipeline = await startPipeline(redis, `${dir.path}/shared`, {
      CHUNK_SECONDS: '3',
      CLAIM_IDLE_MS: '2000',
      WORKER_CONCURRENCY: '1',
      FFMPEG_THREADS: '1',
      TRANSCODE_PROFILES: '480p,360p,hls',
    })
    const p = pipeline
    const victim = p.childTranscoder({ CONSUMER_NAME: 'victim' })
    await p.transcoder({ CONSUMER_NAME: 'survivor' })
    const id = await p.upload(clips.thirty)
    // Every item's holders and attempts as they go.
    const holders = new Map<string, Set<string>>()
    const attempts = new Map<string, number>()
    const stop = watchItems(p, id, (item, key, value) => {
      if (key === 'holder') holders.set(item, (holders.get(item) ?? new Set()).add(value))
      if (key === 'attempts') attempts.set(item, Math.max(attempts.get(item) ?? 0, Number(value)))
    })
    try {
      let killed = ''
      await eventually(
        async () => {
          const hash = await chunkHash(p, id)
          killed =
            Object.keys(hash)
              .find(
                (f) =>
                  f.endsWith(':holder') &&
                  hash[f] === 'victim' &&
                  hash[f.replace('holder', 'state')] === 'running' &&
                  f.startsWith('c0000') &&
                  Number(f.slice(1, 6)) > 0,
              )
              ?.split(':')[0] ?? ''
          return killed !== ''
        },
        60_000,
        'the victim to run a chunk',
      )
      await victim.kill('SIGKILL')
      const job = await p.waitFor(id, ['completed', 'failed'], 150_000)
      expect(job.status).toBe('completed')
      // Both took chunks; only the chunk the victim held was encoded twice.
      const all = [...holders.values()].flatMap((set) => [...set])
      expect(all).toContain('victim')
      expect(all).toContain('survivor')
      const twice = [...attempts.entries()].filter(([, n]) => n > 1).map(([item]) => item)
      expect(twice).toEqual([killed])
      expect(holders.get(killed)).toEqual(new Set(['victim', 'survivor']))
    } finally {
      stop()
    }
  }, 240_000)

  it('stops every chunk of a canceled job within 2 s', async () => {
    pipeline = await startPipeline(redis, `${dir.path}/cancel`, {
      CHUNK_SECONDS: '10',
      WORKER_CONCURRENCY: '2',
      FFMPEG_THREADS: '1',
      TRANSCODE_PROFILES: '480p,360p,hls,thumbnail,storyboard',
    })
    const p = pipeline
    await p.transcoder()
    const id = await p.upload(clips.thirty)
    // A 10 s chunk under way (seconds of work left), not a 2 s lead one about to end by itself.
    await eventually(
      async () => (await chunkHash(p, id))['c00002:state'] === 'running',
      60_000,
      'a 10 s chunk to run',
    )
    expect(processesMatching(`ffmpeg.*${id}`).length).toBeGreaterThan(0)
    const res = await fetch(`${p.status}/jobs/${id}/cancel`, { method: 'POST' })
    expect(res.status).toBe(202)
    const canceledAt = Date.now()
    await eventually(
      () => processesMatching(`ffmpeg.*${id}`).length === 0,
      2000,
      'every ffmpeg of the job to stop',
    )
    expect(Date.now() - canceledAt).toBeLessThanOrEqual(2000)
    expect((await p.store.get(id))?.status).toBe('canceled')
  }, 120_000)

  it('lets a short upload play within its own time to playable plus one chunk while a long job runs', async () => {
    pipeline = await startPipeline(redis, `${dir.path}/turns`, {
      CHUNK_SECONDS: '4',
      WORKER_CONCURRENCY: '2',
      FFMPEG_THREADS: '1',
      TRANSCODE_PROFILES: '360p,hls',
    })
    const p = pipeline
    await p.transcoder()
    const ttp = async (id: string) => {
      const job = await p.waitFor(id, ['completed'], 120_000)
      const at = (await p.store.client.hGet(p.store.keys.job(id), 'playable_at')) ?? ''
      return Date.parse(at) - Date.parse(job.created_at)
    }
    // Alone first: its own time to playable.
    const alone = await ttp(await p.upload(clips.ten))
    const long = await p.upload(clips.thirty)
    // How long the long job's chunks take: from first seen running to first seen done.
    const seen = new Map<string, { running?: number; done?: number }>()
    const stop = watchItems(p, long, (item, key, value) => {
      if (key !== 'state') return
      const times = seen.get(item) ?? {}
      if (value === 'running') times.running ??= Date.now()
      if (value === 'done') times.done ??= Date.now()
      seen.set(item, times)
    })
    try {
      await eventually(
        async () => [...seen.values()].filter((t) => t.done).length >= 3,
        60_000,
        'the long job to be under way',
      )
      const busy = await ttp(await p.upload(clips.ten, 'ten-again.mp4'))
      await p.waitFor(long, ['completed'], 120_000)
      const chunk = Math.max(
        ...[...seen.values()].flatMap((t) => (t.running && t.done ? [t.done - t.running] : [])),
      )
      // Its turn comes with the next free slot: at most one of the long job's chunks later (a
      // second of slack for the polling and the scheduler).
      expect(busy).toBeLessThanOrEqual(alone + chunk + 1000)
    } finally {
      stop()
    }
  }, 240_000)
})
