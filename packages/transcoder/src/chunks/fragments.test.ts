/**
 * Two chunks encoded by separate ffmpeg runs to HLS fMP4 segments: as ffmpeg writes them their
 * fragments overlap (both start at decode time 0); shifted, they play as one stream under the
 * first chunk's init segment. Real ffmpeg, checked with ffprobe.
 */
import { execFile } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { tempDir } from '@vpp/shared/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseProbe, probeArgs } from '../probe.ts'
import { splitArgs } from './args.ts'
import { decodeSpan, shiftSegment, trackTimescale } from './fragments.ts'
import { planChunks } from './plan.ts'

const run = promisify(execFile)
let dir: Awaited<ReturnType<typeof tempDir>>

beforeAll(async () => {
  dir = await tempDir()
})
afterAll(async () => {
  await dir?.remove()
})

/** A chunk's part encoded to HLS fMP4 as a chunk run's H.264 rung would: the fixture. */
async function hlsOf(part: string, name: string): Promise<string[]> {
  // biome-ignore format: flag and value on one line
  await run('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y', '-i', part,
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-force_key_frames', 'expr:gte(t,n_forced*2)',
    '-f', 'hls', '-hls_time', '4', '-hls_playlist_type', 'vod', '-hls_segment_type', 'fmp4',
    '-hls_fmp4_init_filename', `${name}-init.mp4`, '-hls_segment_filename', join(dir.path, `${name}-%03d.m4s`),
    join(dir.path, `${name}.m3u8`),
  ])
  const playlist = await readFile(join(dir.path, `${name}.m3u8`), 'utf8')
  return playlist.split('\n').filter((line) => line.endsWith('.m4s'))
}

describe('fMP4 segments of separate chunk runs', () => {
  it('are shifted into one timeline: every frame once, one frame apart, under one init segment', async () => {
    const source = join(dir.path, 'source.mp4')
    // biome-ignore format: flag and value on one line
    await run('ffmpeg', [
      '-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=30:duration=12',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '60', source,
    ])
    const probe = parseProbe(JSON.parse((await run('ffprobe', probeArgs(source, 2 ** 31 - 1))).stdout))
    const plan = planChunks([0, 2, 4, 6, 8, 10], 12, { chunkSeconds: 6 })
    await run('ffmpeg', splitArgs(source, probe, plan, join(dir.path, 'part-%05d.mkv')))
    const first = await hlsOf(join(dir.path, 'part-00000.mkv'), 'c0')
    const second = await hlsOf(join(dir.path, 'part-00001.mkv'), 'c1')
    const timescale = trackTimescale(await readFile(join(dir.path, 'c0-init.mp4')))
    const spans = async (names: string[]) =>
      Promise.all(names.map(async (name) => decodeSpan(await readFile(join(dir.path, name)))))
    // As written: both chunks start at 0.
    const written = await spans(second)
    expect(written[0]?.start).toBe(0n)
    const end = (await spans(first)).at(-1)?.end ?? 0n
    expect(end).toBe(BigInt(6 * timescale))
    for (const name of second)
      await writeFile(
        join(dir.path, name),
        shiftSegment(await readFile(join(dir.path, name)), end, timescale),
      )
    const shifted = await spans(second)
    expect(shifted.map((span) => span?.start)).toEqual(written.map((span) => (span?.start ?? 0n) + end))

    const durations = [...(await spans(first)), ...shifted].map((span) =>
      (Number((span?.end ?? 0n) - (span?.start ?? 0n)) / timescale).toFixed(6),
    )
    const playlist = [
      '#EXTM3U',
      '#EXT-X-VERSION:7',
      '#EXT-X-TARGETDURATION:4',
      '#EXT-X-PLAYLIST-TYPE:VOD',
      '#EXT-X-MAP:URI="c0-init.mp4"',
      ...[...first, ...second].flatMap((name, i) => [`#EXTINF:${durations[i]},`, name]),
      '#EXT-X-ENDLIST',
      '',
    ].join('\n')
    const joined = join(dir.path, 'joined.m3u8')
    await writeFile(joined, playlist)
    const { stdout } = await run('ffprobe', [
      ...['-v', 'error', '-allowed_extensions', 'ALL', '-show_entries', 'packet=pts_time'],
      ...['-of', 'csv=p=0', joined],
    ])
    const pts = stdout
      .trim()
      .split('\n')
      .map(Number)
      .sort((a, b) => a - b)
    expect(pts).toHaveLength(360)
    for (let i = 1; i < pts.length; i++)
      expect(Math.abs((pts[i] as number) - (pts[i - 1] as number) - 1 / 30), `frame ${i}`).toBeLessThan(0.002)
    const decoded = await run('ffmpeg', ['-v', 'error', '-i', joined, '-f', 'null', '-'])
    expect(decoded.stderr).toBe('')
  })
})
