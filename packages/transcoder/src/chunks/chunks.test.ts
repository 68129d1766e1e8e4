/**
 * The chunked encode for real: a generated 30 s clip cut into 4 s chunks, each encoded on its
 * own, the audio once, then joined by stream copy; checked from the packets of what comes out.
 */
import { execFile } from 'node:child_process'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { type ImageProfile, PROFILES, type VideoProfile } from '@vpp/shared'
import { probeFile, tempDir } from '@vpp/shared/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { masterPlaylist, playlistSegments } from '../packaging.ts'
import { parseProbe, probeArgs } from '../probe.ts'
import { assembleArgs, audioArgs, audioPartFormat, chunkArgs, concatList, splitArgs } from './args.ts'
import { decodeSpan, shiftSegment, trackTimescale } from './fragments.ts'
import { keyframeArgs, parsePackets, planChunks } from './plan.ts'
import { mediaPlaylist, type Segment } from './playlist.ts'

const run = promisify(execFile)
const FPS = 30
const SECONDS = 30
let dir: Awaited<ReturnType<typeof tempDir>>

beforeAll(async () => {
  dir = await tempDir()
})
afterAll(async () => {
  await dir?.remove()
})

/** A clip with a tone, its brightness rising and falling, a keyframe every `gop` frames. */
async function source(name: string, gop: number, size = '640x360'): Promise<string> {
  const path = join(dir.path, name)
  // biome-ignore format: flag and value on one line
  await run('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    // Brightness that moves with time: a frame from elsewhere in the clip does not look alike.
    '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${FPS}:duration=${SECONDS},eq=brightness='0.5*sin(2*PI*t/7)':eval=frame`,
    '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${SECONDS}`,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', String(gop), '-keyint_min', String(gop),
    '-c:a', 'aac', '-b:a', '96k', path,
  ])
  return path
}

/** The video packets' presentation times of a file, ascending, and its audio's duration. */
async function packets(path: string): Promise<{ video: number[]; audioEnd: number }> {
  const list = async (stream: string) =>
    (
      await run('ffprobe', [
        ...['-v', 'error', '-select_streams', stream],
        ...['-show_entries', 'packet=pts_time,duration_time', '-of', 'csv=p=0', path],
      ])
    ).stdout
      .trim()
      .split('\n')
      .map((line) => line.split(',').map(Number) as [number, number])
      // Side data (AAC's skipped samples) comes on lines of its own.
      .filter(([pts, duration]) => Number.isFinite(pts) && Number.isFinite(duration))
  const video = (await list('v:0')).map(([pts]) => pts).sort((a, b) => a - b)
  const audio = await list('a:0')
  const last = audio.reduce((end, [pts, duration]) => Math.max(end, pts + duration), 0)
  return { video, audioEnd: last }
}

/** Every frame one frame after the one before: no gap and no overlap, at a join or anywhere. */
function expectOneFrameApart(pts: readonly number[], what = 'frame') {
  for (let i = 1; i < pts.length; i++)
    expect(Math.abs((pts[i] as number) - (pts[i - 1] as number) - 1 / FPS), `${what} ${i}`).toBeLessThan(
      0.002,
    )
}

/** The lowest SSIM of any frame of `output` against the same frame of `input` (same size). */
async function worstSsim(output: string, input: string): Promise<number> {
  const stats = join(dir.path, `ssim-${Math.random().toString(36).slice(2)}.log`)
  await run('ffmpeg', [
    '-v',
    'error',
    '-i',
    output,
    '-i',
    input,
    '-lavfi',
    `[0:v][1:v]ssim=stats_file=${stats}`,
    '-f',
    'null',
    '-',
  ])
  const all = (await readFile(stats, 'utf8')).split('\n').flatMap((line) => {
    const value = / All:([\d.]+)/.exec(line)?.[1]
    return value ? [Number(value)] : []
  })
  expect(all).toHaveLength(SECONDS * FPS)
  return Math.min(...all)
}

const thumbnailProfile = PROFILES.find((p) => p.name === 'thumbnail') as ImageProfile

/** Mean luma of a picture. */
async function luma(path: string): Promise<number> {
  const { stdout } = await run('ffmpeg', [
    ...['-v', 'error', '-i', path, '-vf', 'signalstats,metadata=print:file=-', '-f', 'null', '-'],
  ])
  return Number(/YAVG=([\d.]+)/.exec(stdout)?.[1])
}

/** Encode `input` in chunks to 360p MP4 as the chunk engine does, step by step. */
async function chunked(input: string, chunkSeconds: number) {
  const work = join(dir.path, `work-${Math.random().toString(36).slice(2)}`)
  await run('mkdir', ['-p', work])
  const probe = parseProbe(JSON.parse((await run('ffprobe', probeArgs(input, 2 ** 31 - 1))).stdout))
  const keyframes = parsePackets((await run('ffprobe', keyframeArgs(input, probe))).stdout).keyframes
  const plan = planChunks(keyframes, probe.duration ?? 0, { chunkSeconds })
  await run('ffmpeg', splitArgs(input, probe, plan, join(work, 'part-%05d.mkv'), join(work, 'audio.mka')))
  const profile = PROFILES.find((p) => p.name === '360p') as VideoProfile
  const chunkFiles: string[] = []
  for (const chunk of plan.chunks) {
    const part = plan.parts[chunk.part]
    if (!part) throw new Error(`no part ${chunk.part}`)
    const path = join(work, `chunk-${String(chunk.index).padStart(5, '0')}.mp4`)
    const partPath = join(work, `part-${String(part.index).padStart(5, '0')}.mkv`)
    await run(
      'ffmpeg',
      chunkArgs({ path: partPath, part }, chunk, probe, [{ profile, path }], {
        threads: 1,
        fps: null,
        tiles: { interval: 1, width: 160, height: 90, pattern: join(work, 'tile-%05d.jpg') },
        thumbnail: { profile: thumbnailProfile, at: 7.5, path: join(work, 'thumbnail.jpg') },
      }),
    )
    chunkFiles.push(path)
  }
  const audio = join(work, 'audio.m4a')
  await run(
    'ffmpeg',
    audioArgs(join(work, 'audio.mka'), [{ codec: 'aac', kbps: 96, path: audio }], audioPartFormat(probe)),
  )
  const list = join(work, 'chunks.ffconcat')
  await writeFile(list, concatList(chunkFiles))
  const output = join(work, '360p.mp4')
  await run('ffmpeg', assembleArgs(list, audio, 'mp4', output))
  return { plan, output, work }
}

describe('a chunked encode, joined', () => {
  it('cuts at the source keyframes and gives the stream back whole: every frame, continuous at every join', async () => {
    const input = await source('dense.mp4', 2 * FPS)
    const { plan, output, work } = await chunked(input, 4)
    expect(plan.chunks.map((c) => [c.start, c.end, c.seek])).toEqual([
      [0, 4, 0],
      [4, 8, 0],
      [8, 12, 0],
      [12, 16, 0],
      [16, 20, 0],
      [20, 24, 0],
      [24, 30, 0],
    ])
    // One part a chunk, each by stream copy.
    expect((await readdir(work)).filter((f) => f.startsWith('part-'))).toHaveLength(7)
    const { video, audioEnd } = await packets(output)
    // Every frame of the source, once, one frame apart: no gap and no overlap at any join.
    expect(video).toHaveLength(SECONDS * FPS)
    expectOneFrameApart(video)
    // Audio and video end together (within a frame), at the source's length.
    const videoEnd = (video.at(-1) as number) + 1 / FPS
    expect(Math.abs(videoEnd - SECONDS)).toBeLessThan(1 / FPS)
    expect(Math.abs(audioEnd - videoEnd)).toBeLessThan(1 / FPS)
    // The source's own frames, in order (a chunk that encoded the wrong stretch would not be).
    expect(await worstSsim(output, input)).toBeGreaterThan(0.9)
    // Decodes cleanly.
    const { stderr } = await run('ffmpeg', ['-v', 'error', '-i', output, '-f', 'null', '-'])
    expect(stderr).toBe('')
    // The storyboard's tiles, one a second, numbered as in the whole video whichever chunk made
    // them, each the picture one run over the whole video picks for that second (the brightness
    // moves with time); the thumbnail, made by the chunk that holds its pick.
    const tiles = (await readdir(work)).filter((f) => f.startsWith('tile-')).sort()
    expect(tiles).toEqual(
      Array.from({ length: SECONDS }, (_, k) => `tile-${String(k + 1).padStart(5, '0')}.jpg`),
    )
    // biome-ignore format: flag and value on one line
    await run('ffmpeg', [
      '-v', 'error', '-i', input, '-vf', 'fps=1/1,scale=160:90', '-q:v', '2', '-start_number', '1',
      join(work, 'whole-%05d.jpg'),
    ])
    for (const [k, tile] of tiles.entries()) {
      const whole = join(work, `whole-${String(k + 1).padStart(5, '0')}.jpg`)
      expect(Math.abs((await luma(join(work, tile))) - (await luma(whole))), tile).toBeLessThan(3)
    }
    expect((await probeFile(join(work, 'thumbnail.jpg'))).streams[0]).toMatchObject({
      width: 320,
      height: 180,
    })
  })

  it('cuts frame-accurately where keyframes are sparse, decoding from the keyframe before', async () => {
    const input = await source('sparse.mp4', 12 * FPS)
    const { plan, output } = await chunked(input, 4)
    expect(plan.parts.map((p) => p.start)).toEqual([0, 12, 24])
    expect(plan.chunks.map((c) => [c.start, c.part, c.seek])).toEqual([
      [0, 0, 0],
      [4, 0, 4],
      [8, 0, 8],
      [12, 1, 0],
      [16, 1, 4],
      [20, 1, 8],
      [24, 2, 0],
    ])
    const { video } = await packets(output)
    expect(video).toHaveLength(SECONDS * FPS)
    expectOneFrameApart(video)
    expect(await worstSsim(output, input)).toBeGreaterThan(0.9)
  })

  it('publishes HLS chunk by chunk: a growing EVENT playlist that plays what is in, then the whole ladder', async () => {
    const input = await source('ladder.mp4', 2 * FPS, '854x480')
    const work = join(dir.path, 'hls')
    await run('mkdir', ['-p', work])
    const probe = parseProbe(JSON.parse((await run('ffprobe', probeArgs(input, 2 ** 31 - 1))).stdout))
    const plan = planChunks(
      parsePackets((await run('ffprobe', keyframeArgs(input, probe))).stdout).keyframes,
      SECONDS,
      {
        chunkSeconds: 10,
      },
    )
    await run('ffmpeg', splitArgs(input, probe, plan, join(work, 'part-%05d.mkv')))
    const rungs = ['480p', '360p'].map((name) => PROFILES.find((p) => p.name === name) as VideoProfile)
    for (const rung of rungs) await run('mkdir', ['-p', join(work, rung.name)])
    /** Per rung: the recorded segments so far, and where the next chunk's must start (ticks). */
    const recorded = new Map(rungs.map((rung) => [rung.name, { segments: [] as Segment[], end: 0n }]))
    const playlist = (rung: string, ended: boolean) => {
      const init = 'c00000-a1-init.mp4'
      const text = mediaPlaylist({
        init,
        segments: recorded.get(rung)?.segments ?? [],
        ended,
        maxSegmentSeconds: 6,
      })
      return writeFile(join(work, rung, 'index.m3u8'), text)
    }
    for (const chunk of plan.chunks) {
      const part = plan.parts[chunk.part]
      if (!part) throw new Error(`no part ${chunk.part}`)
      const name = `c${String(chunk.index).padStart(5, '0')}-a1`
      const outputs = rungs.map((profile) => ({
        profile,
        path: join(work, `${name}-${profile.name}.mp4`),
        hls: { dir: join(work, profile.name), name, segmentSeconds: 4 },
      }))
      const partPath = join(work, `part-${String(part.index).padStart(5, '0')}.mkv`)
      await run(
        'ffmpeg',
        chunkArgs({ path: partPath, part }, chunk, probe, outputs, { threads: 1, fps: null }),
      )
      // Recorded: its segments moved onto the rung's timeline, then listed.
      for (const rung of rungs) {
        const dirOf = join(work, rung.name)
        const state = recorded.get(rung.name) as { segments: Segment[]; end: bigint }
        const timescale = trackTimescale(await readFile(join(dirOf, 'c00000-a1-init.mp4')))
        const own = playlistSegments(await readFile(join(dirOf, `${name}.m3u8`), 'utf8'))
        let end = state.end
        for (const segment of own) {
          const path = join(dirOf, segment.uri)
          const moved = shiftSegment(await readFile(path), state.end, timescale)
          await writeFile(path, moved)
          end = decodeSpan(moved)?.end ?? end
        }
        state.segments.push(...own)
        state.end = end
        await playlist(rung.name, chunk.index === plan.chunks.length - 1)
      }
      if (chunk.index === 0) {
        // Playable after the first chunk: what the growing playlist lists decodes (read as it
        // stands: ffmpeg would wait on an EVENT playlist for more).
        const growing = await readFile(join(work, '360p', 'index.m3u8'), 'utf8')
        expect(growing).toContain('#EXT-X-PLAYLIST-TYPE:EVENT')
        expect(growing).not.toContain('#EXT-X-ENDLIST')
        await writeFile(join(work, '360p', 'now.m3u8'), `${growing}#EXT-X-ENDLIST\n`)
        const { video } = await packets(join(work, '360p', 'now.m3u8'))
        expect(video).toHaveLength((chunk.end - chunk.start) * FPS)
      }
    }
    const master = join(work, 'master.m3u8')
    await writeFile(
      master,
      masterPlaylist(
        rungs.map((rung) => ({
          playlist: `${rung.name}/index.m3u8`,
          bandwidth: rung.videoBitrateKbps * 1000,
          averageBandwidth: rung.videoBitrateKbps * 1000,
          width: Math.round((rung.height * 854) / 480 / 2) * 2,
          height: rung.height,
          frameRate: FPS,
          codecs: 'avc1.64001e',
        })),
      ),
    )
    const { stderr } = await run('ffmpeg', ['-v', 'error', '-i', master, '-map', '0:v', '-f', 'null', '-'])
    expect(stderr).toBe('')
    // Every rung: every frame once, one frame apart across the joins; its segments start on
    // keyframes at the same times as the other rung's.
    const starts: number[][] = []
    for (const rung of rungs) {
      const index = join(work, rung.name, 'index.m3u8')
      expect(await readFile(index, 'utf8')).toContain('#EXT-X-ENDLIST')
      const { video } = await packets(index)
      expect(video, rung.name).toHaveLength(SECONDS * FPS)
      expectOneFrameApart(video, rung.name)
      const keyframes = (
        await run('ffprobe', [
          '-v',
          'error',
          '-show_entries',
          'packet=pts_time,flags',
          '-of',
          'csv=p=0',
          index,
        ])
      ).stdout
        .trim()
        .split('\n')
        .filter((line) => line.includes('K'))
        .map((line) => Number(line.split(',')[0]))
      const segmentStarts: number[] = []
      let at = 0
      for (const segment of recorded.get(rung.name)?.segments ?? []) {
        segmentStarts.push(at)
        at += segment.seconds
      }
      for (const start of segmentStarts)
        expect(
          keyframes.some((k) => Math.abs(k - (keyframes[0] as number) - start) < 0.002),
          `${rung.name} at ${start}`,
        ).toBe(true)
      starts.push(segmentStarts)
    }
    expect(starts[0]).toEqual(starts[1])
  }, 180_000)
})
