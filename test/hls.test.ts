/**
 * The adaptive stream and the seek previews, from a real run: ffmpeg makes them, ffprobe and
 * ffmpeg read them back as a player would.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join, normalize } from 'node:path'
import { promisify } from 'node:util'
import type { Job } from '@vpp/shared'
import { makeClip, probeFile, startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type Pipeline, startPipeline } from './harness.ts'

const run = promisify(execFile)
let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let pipeline: Pipeline | undefined
let clip = ''
const SEGMENT = 4

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
  // 11 s, 30 fps, with audio: three segments a rung, the last one short.
  clip = await makeClip(`${dir.path}/clip.mp4`, {
    width: 854,
    height: 480,
    seconds: 11,
    audio: true,
    fps: 30,
  })
})
afterEach(async () => {
  await pipeline?.close()
  pipeline = undefined
})
afterAll(async () => {
  await redis?.stop()
  await dir?.remove()
})

async function ffprobeJson(args: string[]) {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-of', 'json', ...args], { maxBuffer: 64 << 20 })
  return JSON.parse(stdout)
}

interface Range {
  length: number
  offset: number
}
/** `length@offset` */
const range = (text = '') => {
  const [length = 0, offset = 0] = text.split('@').map(Number)
  return { length, offset }
}

/** The first video packet of init + segment (byte ranges of an MP4): its pts and whether it is a keyframe. */
async function firstPacket(mp4: string, init: Range, segment: Range): Promise<{ pts: number; key: boolean }> {
  const bytes = await readFile(mp4)
  const joined = join(await mkdtemp(join(dir.path, 'seg-')), 'joined.mp4')
  const part = (r: Range) => bytes.subarray(r.offset, r.offset + r.length)
  await writeFile(joined, Buffer.concat([part(init), part(segment)]))
  const { packets } = await ffprobeJson([
    '-select_streams',
    'v:0',
    '-show_entries',
    'packet=pts_time,flags',
    '-read_intervals',
    '%+#1',
    joined,
  ])
  return { pts: Number(packets[0].pts_time), key: String(packets[0].flags).includes('K') }
}

const LEVEL_PROFILES: Record<string, string> = {
  High: '64',
  Main: '4d',
  Baseline: '42',
  'Constrained Baseline': '42',
}

describe('HLS and storyboard', () => {
  let job: Job
  let jobDir = ''

  it('makes every output from one run: MP4s, VP9, an HLS ladder, a storyboard and a thumbnail', async () => {
    pipeline = await startPipeline(redis, `${dir.path}/data`)
    await pipeline.transcoder()
    job = await pipeline.waitFor(await pipeline.upload(clip), ['completed', 'failed'], 120_000)
    expect(job.status).toBe('completed')
    expect(job.outputs.map((o) => o.profile)).toEqual([
      '480p',
      '360p',
      'thumbnail',
      'webm_original',
      'hls',
      'storyboard',
    ])
    expect(job.skipped?.map((s) => s.profile)).toEqual(['1440p', '1080p', '720p', 'webm_720p'])
    const hls = job.outputs.find((o) => o.profile === 'hls')
    expect(hls?.path.endsWith('/hls/master.m3u8')).toBe(true)
    expect(hls?.variants?.map((v) => [v.profile, v.width, v.height])).toEqual([
      ['480p', 854, 480],
      ['360p', 640, 360],
    ])
    jobDir = dirname(job.outputs[0]?.path ?? '')
  })

  it('writes a master playlist whose CODECS, RESOLUTION and BANDWIDTH are what the rungs hold', async () => {
    const master = await readFile(join(jobDir, 'hls/master.m3u8'), 'utf8')
    expect(master).toMatch(/^#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n/)
    const infos = [...master.matchAll(/#EXT-X-STREAM-INF:(.*)\n(.*)\n/g)]
    expect(infos.map((m) => m[2])).toEqual(['480p.m3u8', '360p.m3u8'])
    for (const [, attributes = '', uri = ''] of infos) {
      const rung = uri.replace('.m3u8', '')
      const { streams } = await ffprobeJson([
        '-show_entries',
        'stream=codec_name,profile,level,width,height',
        join(jobDir, `${rung}.mp4`),
      ])
      const video = streams.find((s: { codec_name: string }) => s.codec_name === 'h264')
      const codec = `avc1.${LEVEL_PROFILES[video.profile]}00${Number(video.level).toString(16).padStart(2, '0')}`
      expect(attributes).toContain(`CODECS="${codec},mp4a.40.2"`)
      expect(attributes).toContain(`RESOLUTION=${video.width}x${video.height}`)
      expect(attributes).toContain('FRAME-RATE=30.000')
      const peak = Number(/BANDWIDTH=(\d+)/.exec(attributes)?.[1])
      const average = Number(/AVERAGE-BANDWIDTH=(\d+)/.exec(attributes)?.[1])
      expect(average).toBeGreaterThan(0)
      expect(peak).toBeGreaterThanOrEqual(average)
    }
    // ffprobe and ffmpeg open it as a player would, every stream decoding without an error.
    const { streams } = await ffprobeJson([
      '-show_entries',
      'stream=codec_type',
      join(jobDir, 'hls/master.m3u8'),
    ])
    expect(streams.length).toBeGreaterThanOrEqual(4)
    const decoded = await run('ffmpeg', [
      '-v',
      'error',
      '-i',
      join(jobDir, 'hls/master.m3u8'),
      '-map',
      '0',
      '-f',
      'null',
      '-',
    ])
    expect(decoded.stderr).toBe('')
  })

  it('stores each rung once: its segments are byte ranges of its MP4, cut at the same keyframes in every rung', async () => {
    // Nothing but playlists in the stream's folder.
    expect((await readdir(join(jobDir, 'hls'))).sort()).toEqual(['360p.m3u8', '480p.m3u8', 'master.m3u8'])
    const starts: number[][] = []
    for (const rung of ['480p', '360p']) {
      const playlist = await readFile(join(jobDir, 'hls', `${rung}.m3u8`), 'utf8')
      const init = range(/#EXT-X-MAP:URI="\.\.\/[^"]+",BYTERANGE="(\d+@0)"/.exec(playlist)?.[1])
      expect(playlist).toContain(`#EXT-X-MAP:URI="../${rung}.mp4",BYTERANGE="${init.length}@0"`)
      expect(playlist).toContain('#EXT-X-PLAYLIST-TYPE:VOD')
      const durations = [...playlist.matchAll(/#EXTINF:([\d.]+),/g)].map((m) => Number(m[1]))
      expect(durations.length).toBeGreaterThanOrEqual(3)
      for (const d of durations) expect(d).toBeLessThanOrEqual(SEGMENT + 2)
      const segments = [...playlist.matchAll(/#EXT-X-BYTERANGE:(\d+@\d+)\n(.+)\n/g)].map((m) => {
        expect(m[2]).toBe(`../${rung}.mp4`)
        return range(m[1])
      })
      expect(segments).toHaveLength(durations.length)
      // Back to back from the end of the init and the sidx to the end of the file.
      const size = (await readFile(join(jobDir, `${rung}.mp4`))).length
      segments.forEach((segment, i) => {
        const previous = segments[i - 1]
        if (previous) expect(segment.offset).toBe(previous.offset + previous.length)
      })
      const last = segments.at(-1) ?? { offset: 0, length: 0 }
      expect(last.offset + last.length).toBeLessThanOrEqual(size)
      expect(size - (last.offset + last.length)).toBeLessThan(4096) // the trailing mfra index
      const firsts = await Promise.all(segments.map((s) => firstPacket(join(jobDir, `${rung}.mp4`), init, s)))
      for (const f of firsts) expect(f.key).toBe(true)
      starts.push(firsts.map((f) => f.pts))
    }
    expect(starts[1]).toEqual(starts[0])
  })

  it('names only files of its own job in every playlist, by relative URIs', async () => {
    const hlsDir = join(jobDir, 'hls')
    for (const name of ['master.m3u8', '480p.m3u8', '360p.m3u8']) {
      const playlist = join(hlsDir, name)
      const text = await readFile(playlist, 'utf8')
      const uris = [
        ...text.split('\n').filter((l) => l !== '' && !l.startsWith('#')),
        ...[...text.matchAll(/URI="([^"]+)"/g)].map((m) => m[1] ?? ''),
      ]
      for (const uri of uris) {
        expect(uri).not.toMatch(/^\/|^[a-z]+:/i)
        const target = normalize(join(dirname(playlist), uri))
        expect(target.startsWith(`${jobDir}/`)).toBe(true)
        expect(existsSync(target)).toBe(true)
      }
    }
  })

  it('writes storyboard cues that cover 0 to the duration, each inside its sheet', async () => {
    const board = job.outputs.find((o) => o.profile === 'storyboard')
    expect(board?.path.endsWith('/storyboard.vtt')).toBe(true)
    const vtt = await readFile(board?.path ?? '', 'utf8')
    const cues = [
      ...vtt.matchAll(
        /(\d\d):(\d\d):(\d\d\.\d{3}) --> (\d\d):(\d\d):(\d\d\.\d{3})\n(.+)#xywh=(\d+),(\d+),(\d+),(\d+)/g,
      ),
    ]
    const seconds = (h = '0', m = '0', s = '0') => Number(h) * 3600 + Number(m) * 60 + Number(s)
    expect(cues.length).toBe(11)
    let end = 0
    const sheets = new Map<string, { width: number; height: number }>()
    for (const cue of cues) {
      const [, h1, m1, s1, h2, m2, s2, sheet = '', x, y, w, h] = cue
      expect(seconds(h1, m1, s1)).toBeCloseTo(end, 3)
      end = seconds(h2, m2, s2)
      if (!sheets.has(sheet)) {
        const [stream] = (await probeFile(join(jobDir, sheet))).streams
        sheets.set(sheet, { width: stream?.width ?? 0, height: stream?.height ?? 0 })
      }
      const size = sheets.get(sheet) ?? { width: 0, height: 0 }
      expect(Number(x) + Number(w)).toBeLessThanOrEqual(size.width)
      expect(Number(y) + Number(h)).toBeLessThanOrEqual(size.height)
      expect([Number(w), Number(h)]).toEqual([160, 90])
    }
    expect(end).toBeCloseTo(job.outputs.find((o) => o.profile === '480p')?.duration ?? 0, 1)
  })

  it('publishes nothing when the HLS step fails', async () => {
    // Real ffmpeg, then the 360p MP4 it wrote cut short (no sidx left): the packaging after the run fails.
    const data = `${dir.path}/failing`
    const wrapper = join(dir.path, 'ffmpeg-losing-init.sh')
    await writeFile(
      wrapper,
      `#!/bin/sh\nffmpeg "$@" || exit $?\nfind '${data}/output/.work' -name 360p.mp4 -exec truncate -s 64 {} +\n`,
    )
    await chmod(wrapper, 0o755)
    pipeline = await startPipeline(redis, data, { MAX_ATTEMPTS: '1' })
    await pipeline.transcoder({ FFMPEG_PATH: wrapper })
    const failed = await pipeline.waitFor(await pipeline.upload(clip), ['completed', 'failed'], 120_000)
    expect(failed.status).toBe('failed')
    expect(failed.error).toMatch(/not a fragmented MP4 with a sidx in front/)
    expect(failed.outputs).toEqual([])
    expect(await readdir(`${data}/output`)).toEqual(['.work'])
    expect(await readdir(`${data}/output/.work`)).toEqual([])
  })
})
