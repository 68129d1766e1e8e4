import { execFile } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { tempDir } from '@vpp/shared/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mp4Duration, mvhdSeconds } from './mp4-duration.ts'

const run = promisify(execFile)
let dir: Awaited<ReturnType<typeof tempDir>>

beforeAll(async () => {
  dir = await tempDir()
})
afterAll(async () => {
  await dir?.remove()
})

describe('mp4Duration', () => {
  it('reads what ffprobe reads, from the movie header, index first or last', async () => {
    for (const faststart of [true, false]) {
      const path = join(dir.path, `clip-${faststart}.mp4`)
      // biome-ignore format: flag and value on one line
      await run('ffmpeg', [
        '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=25:duration=3.2',
        '-f', 'lavfi', '-i', 'sine=duration=3.2', '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac',
        ...(faststart ? ['-movflags', '+faststart'] : []), path,
      ])
      const probed = Number(
        (await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', path]))
          .stdout,
      )
      const read = await mp4Duration(path)
      expect(read, `faststart ${faststart}`).not.toBeNull()
      expect(Math.abs((read as number) - probed), `faststart ${faststart}`).toBeLessThan(0.001)
    }
  })

  it('says null for what is not an MP4', async () => {
    const path = join(dir.path, 'not.mp4')
    await writeFile(path, 'hello, not a movie')
    expect(await mp4Duration(path)).toBeNull()
  })
})

describe('mvhdSeconds', () => {
  it('reads version 0 and version 1 headers', () => {
    const v0 = Buffer.alloc(108)
    v0.writeUInt32BE(108, 0)
    v0.write('mvhd', 4, 'latin1')
    v0.writeUInt32BE(1000, 20)
    v0.writeUInt32BE(12_345, 24)
    expect(mvhdSeconds(v0)).toBe(12.345)
    const v1 = Buffer.alloc(120)
    v1.write('mvhd', 4, 'latin1')
    v1[8] = 1
    v1.writeUInt32BE(90_000, 28)
    v1.writeBigUInt64BE(9_000_000_000n, 32)
    expect(mvhdSeconds(v1)).toBe(100_000)
    expect(mvhdSeconds(Buffer.from('free'.padEnd(40)))).toBeNull()
  })
})
