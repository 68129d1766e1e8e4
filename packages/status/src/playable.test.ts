/**
 * A job transcoded in chunks plays while it is still processing: once the transcoder has set
 * `playable_at`, `GET /jobs/{id}` gives `playback.hls` (the master in the job's folder, by the
 * same URL rules as outputs), and `/media` serves its growing playlists with `no-cache`, with
 * the signed URLs, tenancy and CORS of any other media. Real Redis, real files.
 */
import { appendFile, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  closeRedis,
  connectRedis,
  createLogger,
  createRegistry,
  type Job,
  JobSchema,
  JobStore,
  keyId,
  type RedisClient,
  redisKeys,
} from '@vpp/shared'
import { mediaFiles } from '@vpp/shared/node'
import {
  markPlayable,
  queuedJob,
  startTestRedis,
  type TestRedis,
  takeJob,
  tempDir,
} from '@vpp/shared/testing'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createApp, type StatusDeps } from './app.ts'
import { MediaSigner } from './media-token.ts'

const PUBLIC_URL = 'http://status.test'
const KEY = 'playable-key-0123456789abcdef'
const OTHER_KEY = 'playable-other-key-0123456789'

let redis: TestRedis
let client: RedisClient
let dir: Awaited<ReturnType<typeof tempDir>>
let store: JobStore

beforeAll(async () => {
  redis = await startTestRedis()
  client = await connectRedis(redis.url, createLogger({ service: 'test', level: 'silent' }))
  dir = await tempDir()
})
afterAll(async () => {
  await closeRedis(client)
  await redis.stop()
  await dir.remove()
})
beforeEach(async () => {
  store = new JobStore(client, redisKeys(redis.prefix()))
  await store.group.ensure()
})

const app = (deps: Partial<StatusDeps> = {}) =>
  createApp({
    store,
    logger: createLogger({ service: 'status', level: 'silent' }),
    registry: createRegistry('status'),
    media: (file) => mediaFiles(dir.path, file),
    publicUrl: PUBLIC_URL,
    ...deps,
  })
const keyed = () => app({ apiKeys: [KEY, OTHER_KEY], signer: new MediaSigner('m'.repeat(32), 3600) })
const bearer = (key: string) => ({ headers: { Authorization: `Bearer ${key}` } })

/** A job created (by `owner`, with keys) and started as a transcoder would; its claim. */
async function processing(id: string, owner?: string) {
  await store.create(queuedJob(id), undefined, owner)
  return takeJob(store)
}

const MASTER =
  '#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-STREAM-INF:BANDWIDTH=951004,RESOLUTION=640x360\n360p/index.m3u8\n'
const segment = (n: number) => `#EXTINF:4.000000,\nsegment-${String(n).padStart(3, '0')}.m4s\n`
const RUNG_HEAD =
  '#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-MAP:URI="init.mp4"\n'

/** The job's HLS stream as a transcoder publishes it after its first chunk: one segment so far. */
async function firstChunk(id: string): Promise<void> {
  const rung = join(dir.path, id, 'hls', '360p')
  await mkdir(rung, { recursive: true })
  await writeFile(join(dir.path, id, 'hls', 'master.m3u8'), MASTER)
  await writeFile(join(rung, 'init.mp4'), 'init')
  await writeFile(join(rung, 'segment-000.m4s'), 'segment 0')
  await writeFile(join(rung, 'index.m3u8'), RUNG_HEAD + segment(0))
}

const hlsOutput = (id: string) => ({
  profile: 'hls',
  path: join(dir.path, id, 'hls', 'master.m3u8'),
  width: 640,
  height: 360,
  duration: 8,
  size_bytes: 100,
  bitrate: 100,
  codec: 'hls',
})
const mp4Output = (id: string) => ({
  ...hlsOutput(id),
  profile: '360p',
  path: join(dir.path, id, '360p.mp4'),
  codec: 'h264',
})

const getJob = async (status: ReturnType<typeof app>, id: string, init?: RequestInit): Promise<Job> => {
  const res = await status.request(`/jobs/${id}`, init)
  expect(res.status).toBe(200)
  return JobSchema.parse(await res.json())
}

describe('GET /jobs/{id} of a job playable while processing', () => {
  it('gives playback.hls alone once playable_at is set, and the whole playback once completed', async () => {
    const status = app()
    const claim = await processing('p1')
    await firstChunk('p1')
    const before = await getJob(status, 'p1')
    expect(before.status).toBe('processing')
    expect(before.playback).toBeUndefined()
    expect(before.playable_at).toBeUndefined()

    const at = new Date('2026-01-01T00:00:05.000Z')
    await markPlayable(store, 'p1', at)
    const playable = await getJob(status, 'p1')
    expect(playable).toMatchObject({ status: 'processing', playable_at: at.toISOString(), outputs: [] })
    expect(playable.playback).toEqual({
      hls: `${PUBLIC_URL}/media/p1/hls/master.m3u8`,
      mp4: null,
      thumbnail: null,
      storyboard: null,
    })
    // The listing presents it the same way.
    const list = (await (await status.request('/jobs')).json()) as { jobs: Job[] }
    expect(list.jobs.find((job) => job.job_id === 'p1')?.playback).toEqual(playable.playback)

    await store.finish(
      claim,
      { status: 'completed', outputs: [hlsOutput('p1'), mp4Output('p1')] },
      new Date(),
    )
    const completed = await getJob(status, 'p1')
    expect(completed.playable_at).toBe(at.toISOString())
    expect(completed.playback).toEqual({
      hls: `${PUBLIC_URL}/media/p1/hls/master.m3u8`,
      mp4: `${PUBLIC_URL}/media/p1/360p.mp4`,
      thumbnail: null,
      storyboard: null,
    })
  })

  it('signs the master URL when keys are on, and takes the direct URL of S3 when it gives one', async () => {
    await processing('p2', await keyId(KEY))
    await markPlayable(store, 'p2', new Date())
    const signed = await getJob(keyed(), 'p2', bearer(KEY))
    expect(signed.playback?.hls).toMatch(
      new RegExp(`^${PUBLIC_URL}/media/\\d+\\.[\\w-]{43}/p2/hls/master\\.m3u8$`),
    )

    const direct = app({ directUrl: (id, name) => `https://bucket.example/outputs/${id}/${name}` })
    expect((await getJob(direct, 'p2')).playback?.hls).toBe(
      'https://bucket.example/outputs/p2/hls/master.m3u8',
    )
    // S3 without a public URL: playlists come through /media.
    const through = app({ directUrl: async () => undefined })
    expect((await getJob(through, 'p2')).playback?.hls).toBe(`${PUBLIC_URL}/media/p2/hls/master.m3u8`)
  })

  it('gives no playback to a job that is not processing, whatever playable_at says', async () => {
    const claim = await processing('p3')
    await markPlayable(store, 'p3', new Date())
    await store.finish(claim, { status: 'failed', error: 'boom', code: 'invalid_input' }, new Date())
    expect((await getJob(app(), 'p3')).playback).toBeUndefined()
  })
})

describe('/media of a job playable while processing', () => {
  it('serves its growing playlists with no-cache, revalidated by ETag, and its segments immutable', async () => {
    const status = app()
    const claim = await processing('m1')
    await markPlayable(store, 'm1', new Date())
    await firstChunk('m1')
    const { playback } = await getJob(status, 'm1')
    const master = await status.request(playback?.hls ?? '')
    expect(master.status).toBe(200)
    expect(master.headers.get('content-type')).toBe('application/vnd.apple.mpegurl')
    expect(master.headers.get('cache-control')).toBe('no-cache')
    expect(await master.text()).toBe(MASTER)

    const rungUrl = new URL('360p/index.m3u8', playback?.hls ?? '').href
    const first = await status.request(rungUrl)
    expect(first.headers.get('cache-control')).toBe('no-cache')
    expect(await first.text()).toBe(RUNG_HEAD + segment(0))
    const etag = first.headers.get('etag') ?? ''
    const same = await status.request(rungUrl, { headers: { 'If-None-Match': etag } })
    expect(same.status).toBe(304)
    expect(same.headers.get('cache-control')).toBe('no-cache')

    // The next chunk: its segment, then the playlist names it.
    await writeFile(join(dir.path, 'm1', 'hls', '360p', 'segment-001.m4s'), 'segment 1')
    await appendFile(join(dir.path, 'm1', 'hls', '360p', 'index.m3u8'), segment(1))
    const grown = await status.request(rungUrl, { headers: { 'If-None-Match': etag } })
    expect(grown.status).toBe(200)
    expect(await grown.text()).toBe(RUNG_HEAD + segment(0) + segment(1))
    const piece = await status.request(new URL('segment-001.m4s', rungUrl).href)
    expect(piece.status).toBe(200)
    expect(piece.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')

    // Completed: the playlists are final, and cached as any completed job's.
    await appendFile(join(dir.path, 'm1', 'hls', '360p', 'index.m3u8'), '#EXT-X-ENDLIST\n')
    await store.finish(claim, { status: 'completed', outputs: [hlsOutput('m1')] }, new Date())
    for (const url of [playback?.hls ?? '', rungUrl]) {
      const res = await status.request(url)
      expect(res.status, url).toBe(200)
      expect(res.headers.get('cache-control'), url).toBe('public, max-age=60')
    }
  })

  it('holds signed URLs, tenancy and CORS for them', async () => {
    const status = keyed()
    await processing('m2', await keyId(KEY))
    await markPlayable(store, 'm2', new Date())
    await firstChunk('m2')
    const hls = (await getJob(status, 'm2', bearer(KEY))).playback?.hls ?? ''
    // The signed master and the rung its relative URI names: no header needed, CORS for players.
    for (const url of [hls, new URL('360p/index.m3u8', hls).href]) {
      const res = await status.request(url, { headers: { Origin: 'https://player.example' } })
      expect(res.status, url).toBe(200)
      expect(res.headers.get('cache-control'), url).toBe('no-cache')
      expect(res.headers.get('access-control-allow-origin'), url).toBe('*')
    }
    // Unsigned: the owner's key, and no other.
    const plain = '/media/m2/hls/master.m3u8'
    expect((await status.request(plain)).status).toBe(401)
    expect((await status.request(plain, bearer(KEY))).status).toBe(200)
    expect((await status.request(plain, bearer(OTHER_KEY))).status).toBe(404)
    // A token signed for another job opens nothing here.
    const other = (await getJob(status, 'm2', bearer(KEY))).playback?.hls ?? ''
    expect((await status.request(other.replace('/m2/', '/m3/'))).status).toBe(403)
  })
})
