import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { AppError, diskFull, PermanentJobError, PROFILES } from '@vpp/shared'
import { tempDir } from '@vpp/shared/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodersFor } from './ffmpeg-args/index.ts'
import { ProcessError, runProcess } from './ffmpeg-process.ts'
import {
  classifyFailure,
  encoderNames,
  Health,
  type InfraFailure,
  probeHealth,
  storageFailure,
} from './health.ts'

/** What ffmpeg 5.1 printed when its outputs met a full 2 MB tmpfs (its tail). */
const ENOSPC_STDERR = [
  '[libx264 @ 0x55654f173740] 264 - core 164 r3095 baee400 - H.264/MPEG-4 AVC codec',
  'Could not write header for output file #0 (incorrect codec parameters ?): No space left on device',
  'Error initializing output stream 0:1 -- ',
  '[aac @ 0x55654f174bc0] Qavg: nan',
  'Conversion failed!',
].join('\n')

const ffmpegFailed = (stderr: string, code: number | null = 1, signal: NodeJS.Signals | null = null) =>
  new ProcessError(
    `ffmpeg failed (${code === null ? `killed by ${signal}` : `exit code ${code}`})`,
    'exit',
    stderr,
    code,
    signal,
  )
const errno = (code: string, message: string) => Object.assign(new Error(message), { code })
const storageError = (cause: unknown) => storageFailure(cause, 'output volume (OUTPUT_DIR)')

describe('classifyFailure', () => {
  it('takes a full disk, however it shows, for `disk_full`', () => {
    expect(classifyFailure(ffmpegFailed(ENOSPC_STDERR))).toEqual({
      kind: 'disk_full',
      reason: 'disk full: No space left on device',
    })
    expect(classifyFailure(diskFull('output volume (OUTPUT_DIR)'))).toEqual({
      kind: 'disk_full',
      reason: 'disk full: No space left on the output volume (OUTPUT_DIR)',
    })
    // As processJob throws it: the ffmpeg run as its cause.
    expect(
      classifyFailure(diskFull('output volume (OUTPUT_DIR)', { cause: ffmpegFailed(ENOSPC_STDERR) })),
    ).toEqual({ kind: 'disk_full', reason: 'disk full: No space left on the output volume (OUTPUT_DIR)' })
    expect(classifyFailure(errno('ENOSPC', 'ENOSPC: no space left on device, write'))).toEqual({
      kind: 'disk_full',
      reason: 'disk full: No space left on device',
    })
    expect(classifyFailure(new Error('publish failed', { cause: errno('EDQUOT', 'quota') }))?.kind).toBe(
      'disk_full',
    )
    expect(classifyFailure(ffmpegFailed('av_interleaved_write_frame(): Disk quota exceeded'))?.kind).toBe(
      'disk_full',
    )
  })

  it('takes a broken volume or an unreachable store for `storage_unavailable`', () => {
    expect(classifyFailure(errno('EIO', 'EIO: i/o error, write'))).toEqual({
      kind: 'storage_unavailable',
      reason: 'storage unavailable: EIO: i/o error, write',
    })
    expect(classifyFailure(errno('EROFS', "EROFS: read-only file system, mkdir '/o/x'"))?.kind).toBe(
      'storage_unavailable',
    )
    expect(classifyFailure(ffmpegFailed('[out#0] Error opening output: Read-only file system'))).toEqual({
      kind: 'storage_unavailable',
      reason: 'storage unavailable: Read-only file system',
    })
    expect(classifyFailure(storageError(errno('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:9')))).toEqual({
      kind: 'storage_unavailable',
      reason: 'storage unavailable: Storage failed: connect ECONNREFUSED 127.0.0.1:9',
    })
    const s3 = (status: number, fault: 'server' | 'client', name: string) =>
      Object.assign(new Error(name), { name, $fault: fault, $metadata: { httpStatusCode: status } })
    expect(classifyFailure(storageError(s3(503, 'server', 'SlowDown')))?.kind).toBe('storage_unavailable')
    expect(classifyFailure(storageError(s3(500, 'server', 'InternalError')))?.kind).toBe(
      'storage_unavailable',
    )
    expect(classifyFailure(storageError(Object.assign(new Error('t'), { name: 'TimeoutError' })))?.kind).toBe(
      'storage_unavailable',
    )
  })

  it('takes a missing encoder for `encoder_missing`', () => {
    expect(classifyFailure(ffmpegFailed("Stream mapping:\nUnknown encoder 'libx264'\n"))).toEqual({
      kind: 'encoder_missing',
      reason: 'encoder missing: ffmpeg has no encoder libx264 (Unknown encoder)',
    })
    expect(
      classifyFailure(ffmpegFailed('[vost#0:0 @ 0x5600] Encoder not found\nError opening output')),
    ).toEqual({ kind: 'encoder_missing', reason: 'encoder missing: [vost#0:0 @ 0x5600] Encoder not found' })
  })

  it('takes a SIGKILL it did not send for `out_of_memory`', () => {
    expect(classifyFailure(ffmpegFailed('', null, 'SIGKILL'))).toEqual({
      kind: 'out_of_memory',
      reason: 'out of memory: ffmpeg was killed (SIGKILL) by the system: the OOM killer, most likely',
    })
    const ffprobe = new ProcessError('ffprobe failed (killed by SIGKILL)', 'exit', '', null, 'SIGKILL')
    expect(classifyFailure(ffprobe)?.reason).toMatch(/^out of memory: ffprobe was killed/)
  })

  it("leaves the job's own failures, and the transcoder's own kills, to the retry policy", () => {
    const notInfra: unknown[] = [
      // Its own kills: the timeout and cancel/shutdown.
      new ProcessError('FFmpeg timeout: ffmpeg ran longer than 120s', 'timeout', '', null),
      new ProcessError('ffmpeg cancelled', 'aborted', ''),
      // A crash on this input, an input ffmpeg refuses.
      ffmpegFailed('', null, 'SIGSEGV'),
      ffmpegFailed('input: Invalid data found when processing input'),
      ffmpegFailed('Error while decoding stream #0:0: Invalid data found when processing input'),
      // Permanent: no transcoder could do better.
      new PermanentJobError('invalid_input', 'Input is not a readable video file'),
      new PermanentJobError('ffmpeg_timeout', 'FFmpeg timeout', { cause: ffmpegFailed('', null, 'SIGKILL') }),
      // The download's remote end, not our storage.
      new AppError('download_failed', 'Download failed: ECONNREFUSED'),
      new AppError('download_failed', 'Download failed: HTTP 503'),
      // A missing upload, a bucket that refuses us (403): storage answered, and said no.
      new AppError('storage_error', 'Input file is not readable (ENOENT)'),
      storageError(
        Object.assign(new Error('Access Denied'), { $fault: 'client', $metadata: { httpStatusCode: 403 } }),
      ),
      // A connection error that is not a storage call's (Redis, say).
      errno('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:6379'),
      new Error('boom'),
      'a string',
      undefined,
    ]
    for (const error of notInfra) expect(classifyFailure(error), String(error)).toBeNull()
  })
})

describe('storageFailure', () => {
  it('names a full volume, and keeps the cause of any other failure', () => {
    const full = storageFailure(
      errno('ENOSPC', 'ENOSPC: no space left on device'),
      'upload volume (UPLOAD_DIR)',
    )
    expect(full).toMatchObject({
      code: 'disk_full',
      status: 507,
      message: 'No space left on the upload volume (UPLOAD_DIR)',
    })
    const cause = errno('ECONNRESET', 'socket hang up')
    expect(storageFailure(cause, 'x')).toMatchObject({
      code: 'storage_error',
      message: 'Storage failed: socket hang up',
      cause,
    })
    const known = new AppError('storage_error', 'Upload uploads/a is not in the bucket')
    expect(storageFailure(known, 'x')).toBe(known)
  })
})

describe('Health', () => {
  const full: InfraFailure = { kind: 'disk_full', reason: 'disk full: No space left on device' }

  it('is sick after SICK_AFTER_FAILURES failures in a row; a success starts the count again', () => {
    const health = new Health(3)
    expect([health.failed(full), health.failed(full)]).toEqual(['healthy', 'healthy'])
    health.succeeded()
    expect([health.failed(full), health.failed(full)]).toEqual(['healthy', 'healthy'])
    const at = new Date('2026-01-01T00:00:00Z')
    expect(health.failed(full, at)).toBe('became')
    expect(health.sick).toEqual({ ...full, since: at })
    expect(health.failed({ kind: 'out_of_memory', reason: 'x' })).toBe('sick')
    health.succeeded() // a job that was running finished: the probe, not a job, says it is well
    expect(health.sick?.reason).toBe(full.reason)
    health.stillSick({ kind: 'storage_unavailable', reason: 'storage unavailable: EIO' })
    expect(health.sick).toEqual({
      kind: 'storage_unavailable',
      reason: 'storage unavailable: EIO',
      since: at,
    })
    health.recovered()
    expect(health.sick).toBeNull()
    expect(health.failures).toBe(0)
  })
})

describe('probeHealth', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  beforeAll(async () => {
    dir = await tempDir()
  })
  afterAll(() => dir?.remove())

  it('passes where a file can be written and ffmpeg has every encoder of the profile table', async () => {
    const encoders = encodersFor(PROFILES)
    expect(encoders).toEqual(['aac', 'libopus', 'libvpx-vp9', 'libx264', 'mjpeg'])
    const listing = (await runProcess('ffmpeg', ['-hide_banner', '-encoders'], { timeoutMs: 15_000 })).stdout
    expect(encoderNames(listing)).toEqual(expect.arrayContaining(encoders))
    expect(encoderNames(listing)).not.toContain('=')
    const work = join(dir.path, 'output', '.work')
    expect(
      await probeHealth({
        dirs: [{ path: work, volume: 'output volume (OUTPUT_DIR)' }],
        ffmpeg: 'ffmpeg',
        encoders,
      }),
    ).toBeNull()
  })

  it('says what is still wrong: an encoder, a volume, the bucket, ffmpeg itself', async () => {
    expect(await probeHealth({ dirs: [], ffmpeg: 'ffmpeg', encoders: ['libx264', 'libnope'] })).toEqual({
      kind: 'encoder_missing',
      reason: 'encoder missing: ffmpeg has no encoder libnope',
    })
    const file = join(dir.path, 'a-file')
    await writeFile(file, '')
    const broken = await probeHealth({
      dirs: [{ path: join(file, 'below'), volume: 'output volume (OUTPUT_DIR)' }],
      ffmpeg: 'ffmpeg',
      encoders: [],
    })
    expect(broken?.kind).toBe('storage_unavailable')
    expect(broken?.reason).toBe(
      `storage unavailable: the output volume (OUTPUT_DIR) cannot be written (ENOTDIR: not a directory, mkdir '${file}/below')`,
    )
    const ping = async () => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:9')
    }
    expect(await probeHealth({ dirs: [], ping, ffmpeg: 'ffmpeg', encoders: [] })).toEqual({
      kind: 'storage_unavailable',
      reason: 'storage unavailable: the bucket does not answer (connect ECONNREFUSED 127.0.0.1:9)',
    })
    expect((await probeHealth({ dirs: [], ffmpeg: '/nonexistent/ffmpeg', encoders: [] }))?.kind).toBe(
      'encoder_missing',
    )
  })
})

describe('a run killed from outside', () => {
  it('carries the signal, and a SIGKILL nobody here sent reads as out of memory', async () => {
    // As the OOM killer would: SIGKILL from outside the transcoder (here the process's own).
    const error = await runProcess('sh', ['-c', 'kill -KILL $$'], { timeoutMs: 20_000 }).catch(
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(ProcessError)
    expect(error).toMatchObject({ reason: 'exit', exitCode: null, signal: 'SIGKILL' })
    expect((error as Error).message).toBe('sh failed (killed by SIGKILL)')
    expect(classifyFailure(error)).toEqual({
      kind: 'out_of_memory',
      reason: 'out of memory: sh was killed (SIGKILL) by the system: the OOM killer, most likely',
    })
  })
})
