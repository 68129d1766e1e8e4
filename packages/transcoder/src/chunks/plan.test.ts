import { describe, expect, it } from 'vitest'
import type { Probe } from '../probe.ts'
import { keyframeArgs, parsePackets, planChunks } from './plan.ts'

const every = (step: number, until: number) =>
  Array.from({ length: Math.ceil(until / step) }, (_, i) => i * step)

describe('keyframeArgs', () => {
  it('lists the chosen video stream packets, confined to the local file, decoding nothing', () => {
    expect(keyframeArgs('/up/job1', { videoIndex: 1 } as Probe)).toEqual([
      '-v',
      'error',
      '-protocol_whitelist',
      'file',
      '-select_streams',
      '1',
      '-show_entries',
      'packet=pts_time,duration_time,flags',
      '-of',
      'csv=p=0',
      'file:/up/job1',
    ])
  })
})

describe('parsePackets', () => {
  it('keeps the keyframes, in order, once each, whatever the packet order', () => {
    const csv =
      '0.000000,0.033333,K_\n0.066667,0.033333,__\n4.000000,0.033333,K_\n2.000000,0.033333,K_\nN/A,0.033333,K_\n4.000000,0.033333,K_\n'
    expect(parsePackets(csv).keyframes).toEqual([0, 2, 4])
  })

  it('ends where the latest packet ends, whatever the header claimed', () => {
    expect(
      parsePackets('0.000000,0.040000,K_\n7.960000,0.040000,__\n3.000000,0.040000,__\n').end,
    ).toBeCloseTo(8)
    expect(parsePackets('').end).toBeNull()
  })
})

describe('planChunks', () => {
  it('starts with the lead chunks, exactly as long as asked, then cuts at keyframes', () => {
    const plan = planChunks(every(2, 30), 30, { chunkSeconds: 10, lead: [2, 2] })
    expect(plan.chunks.map((c) => [c.start, c.end, c.part, c.seek])).toEqual([
      [0, 2, 0, 0],
      [2, 4, 1, 0],
      [4, 14, 2, 0],
      [14, 24, 3, 0],
      [24, 30, 4, 0],
    ])
    // No lead on a video too short to have a whole chunk after it.
    expect(planChunks(every(2, 11), 11, { chunkSeconds: 10, lead: [2, 2] }).chunks).toHaveLength(1)
  })

  it('cuts the lead frame-accurately between sparse keyframes', () => {
    const plan = planChunks([0, 12], 24, { chunkSeconds: 6, lead: [2, 2] })
    expect(plan.chunks.map((c) => [c.start, c.part, c.seek])).toEqual([
      [0, 0, 0],
      [2, 0, 2],
      [4, 0, 4],
      [12, 1, 0],
      [18, 1, 6],
    ])
  })

  it('cuts at the keyframes nearest past each chunk length: one part a chunk, no seeking', () => {
    const plan = planChunks(every(2, 30), 30, { chunkSeconds: 10 })
    expect(plan.parts).toEqual([
      { index: 0, start: 0, end: 10 },
      { index: 1, start: 10, end: 20 },
      { index: 2, start: 20, end: 30 },
    ])
    expect(plan.chunks.map((c) => [c.start, c.end, c.part, c.seek])).toEqual([
      [0, 10, 0, 0],
      [10, 20, 1, 0],
      [20, 30, 2, 0],
    ])
  })

  it('follows keyframes that do not fall on the chunk length (a 6.3 s GOP, 4 s chunks)', () => {
    const plan = planChunks(every(6.3, 30), 30, { chunkSeconds: 4 })
    expect(plan.chunks.map((c) => [c.start, c.end])).toEqual([
      [0, 6.3],
      [6.3, 12.6],
      [12.6, 18.9],
      [18.9, 25.2],
      [25.2, 30],
    ])
  })

  it('lets a last chunk of half a chunk or less join the one before', () => {
    expect(planChunks(every(1, 25), 25, { chunkSeconds: 10 }).chunks.map((c) => [c.start, c.end])).toEqual([
      [0, 10],
      [10, 25],
    ])
    expect(planChunks(every(1, 26), 26, { chunkSeconds: 10 }).chunks.map((c) => [c.start, c.end])).toEqual([
      [0, 10],
      [10, 20],
      [20, 26],
    ])
  })

  it('cuts frame-accurately where keyframes are sparse: chunks seek into the part of the keyframe before', () => {
    // A screen recording: a keyframe a minute.
    const plan = planChunks([0, 60], 120, { chunkSeconds: 20 })
    expect(plan.parts.map((p) => [p.start, p.end])).toEqual([
      [0, 60],
      [60, 120],
    ])
    expect(plan.chunks.map((c) => [c.start, c.end, c.part, c.seek])).toEqual([
      [0, 20, 0, 0],
      [20, 40, 0, 20],
      [40, 60, 0, 40],
      [60, 80, 1, 0],
      [80, 100, 1, 20],
      [100, 120, 1, 40],
    ])
  })

  it('makes one chunk of a video shorter than a chunk and a half, and starts at 0 whatever the first packet says', () => {
    expect(planChunks([0.04, 2], 14, { chunkSeconds: 10 })).toEqual({
      parts: [{ index: 0, start: 0, end: 14 }],
      chunks: [{ index: 0, start: 0, end: 14, part: 0, seek: 0 }],
    })
  })
})
