/**
 * What ffmpeg gets to see and which stream it encodes: real ffmpeg, real transcoder processes.
 */
import { execFile } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import { makeClip, probeFile, startTestRedis, type TestRedis, tempDir } from '@vpp/shared/testing'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { eventually, type Pipeline, processesMatching, startPipeline } from './harness.ts'

const run = promisify(execFile)
let redis: TestRedis
let dir: Awaited<ReturnType<typeof tempDir>>
let pipeline: Pipeline | undefined

beforeAll(async () => {
  redis = await startTestRedis()
  dir = await tempDir()
})
afterEach(async () => {
  await pipeline?.close()
  pipeline = undefined
})
afterAll(async () => {
  await redis?.stop()
  await dir?.remove()
})

/** Top-level boxes of an ISO-BMFF buffer between `start` and `end`: [offset, size, type]. */
function boxes(data: Buffer, start: number, end: number): Array<[number, number, string]> {
  const found: Array<[number, number, string]> = []
  for (let at = start; at < end; ) {
    const size = data.readUInt32BE(at)
    found.push([at, size, data.toString('latin1', at + 4, at + 8)])
    at += size
  }
  return found
}

/**
 * An MP4 whose first video stream is cover art: ffmpeg writes the picture as iTunes `covr`
 * metadata in `moov/udta`, after the tracks; moving `udta` before them makes the demuxer list
 * the picture as stream 0 (sizes and offsets unchanged), as some taggers' files do.
 */
async function coverArtFirst(video: string, out: string): Promise<string> {
  const cover = `${dir.path}/cover.jpg`
  await run('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    'color=red:size=64x64',
    '-frames:v',
    '1',
    cover,
  ])
  const tagged = `${dir.path}/tagged.mp4`
  // biome-ignore format: flag and value on one line
  await run('ffmpeg', ['-v', 'error', '-y', '-i', cover, '-i', video, '-map', '0', '-map', '1', '-c', 'copy',
    '-disposition:0', 'attached_pic', tagged])
  const data = await readFile(tagged)
  const [moovAt, moovSize] = boxes(data, 0, data.length).find(([, , type]) => type === 'moov') ?? [0, 0]
  const children = boxes(data, moovAt + 8, moovAt + moovSize).map(([at, size, type]) => ({
    type,
    bytes: data.subarray(at, at + size),
  }))
  const reordered = [
    ...children.filter((c) => c.type === 'mvhd'),
    ...children.filter((c) => c.type === 'udta'),
    ...children.filter((c) => c.type !== 'mvhd' && c.type !== 'udta'),
  ]
  Buffer.concat(reordered.map((c) => c.bytes)).copy(data, moovAt + 8)
  await writeFile(out, data)
  return out
}

describe('ffmpeg confinement', () => {
  it('runs ffmpeg without the transcoder’s secrets in its environment', async () => {
    const secret = 'do-not-leak-8f3a2c91e7'
    pipeline = await startPipeline(redis, `${dir.path}/env`, {
      TRANSCODE_PROFILES: '720p,480p,360p,webm_720p',
    })
    const p = pipeline
    p.childTranscoder({ AWS_SECRET_ACCESS_KEY: secret, API_KEYS: `key-${secret}`, CONSUMER_NAME: 'env' })
    const clip = await makeClip(`${dir.path}/env.mp4`, { width: 1280, height: 720, seconds: 8, audio: true })
    const id = await p.upload(clip)
    let environ = ''
    await eventually(
      async () => {
        for (const pid of processesMatching(`ffmpeg.*${id}`)) {
          const text = await readFile(`/proc/${pid}/environ`, 'latin1').catch(() => '')
          // setpriv and nice exec ffmpeg in the same process: wait for ffmpeg itself.
          const cmdline = await readFile(`/proc/${pid}/cmdline`, 'latin1').catch(() => '')
          if (cmdline.split('\0')[0]?.endsWith('ffmpeg') && text) environ = text
        }
        return environ !== ''
      },
      30_000,
      'ffmpeg to run',
    )
    const names = environ
      .split('\0')
      .filter(Boolean)
      .map((v) => v.split('=')[0])
    expect(environ).not.toContain(secret)
    expect(names).toContain('PATH')
    expect(names).not.toContain('AWS_SECRET_ACCESS_KEY')
    expect(names).not.toContain('REDIS_URL')
    expect(await p.waitFor(id, ['completed', 'failed'], 60_000)).toMatchObject({ status: 'completed' })
  })

  it('encodes the real video of an input whose first video stream is cover art', async () => {
    pipeline = await startPipeline(redis, `${dir.path}/cover`, { TRANSCODE_PROFILES: '360p,thumbnail' })
    const p = pipeline
    await p.transcoder()
    const video = await makeClip(`${dir.path}/video.mp4`, {
      width: 640,
      height: 360,
      seconds: 2,
      audio: true,
    })
    const input = await coverArtFirst(video, `${dir.path}/with-cover.mp4`)
    const { streams } = await probeFile(input)
    expect(streams.map((s) => `${s.codec_name} ${s.width ?? ''}`.trim())).toEqual([
      'mjpeg 64',
      'h264 640',
      'aac',
    ])

    const job = await p.waitFor(await p.upload(input), ['completed', 'failed'], 60_000)
    expect(job.status).toBe('completed')
    const rendition = job.outputs.find((o) => o.profile === '360p')
    const thumbnail = job.outputs.find((o) => o.profile === 'thumbnail')
    expect(rendition).toMatchObject({ width: 640, height: 360, codec: 'h264' })
    expect(rendition?.duration).toBeGreaterThan(1.9)
    expect(thumbnail).toMatchObject({ width: 320, height: 180 })
  })
})
