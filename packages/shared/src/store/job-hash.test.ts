import { describe, expect, it } from 'vitest'
import type { Job } from '../api/job.ts'
import { fromHash, toHash } from './job-hash.ts'

describe('toHash / fromHash', () => {
  it("keeps a job's options and media fields through the Redis hash", () => {
    const job: Job = {
      job_id: 'j-1',
      filename: 'a.mp4',
      source: 'upload',
      status: 'completed',
      created_at: '2026-12-07T10:00:00.000Z',
      updated_at: '2026-12-07T10:00:05.000Z',
      attempts: 1,
      outputs: [],
      clip: { start: 12.5, end: 30 },
      watermark: { image: 'wm_abcdef123456', position: 'top-left', width: 0.2, margin: 0 },
      normalize_audio: false,
      captions: [
        { caption_id: 'c1', language: 'en', label: 'English', created_at: '2026-12-07T10:01:00.000Z' },
      ],
      original: 'kept',
    }
    const hash = toHash(job)
    expect(hash.normalize_audio).toBe('false')
    expect(fromHash(hash)).toEqual(job)
  })

  it('leaves the options out of a job that has none', () => {
    const hash = toHash({
      job_id: 'j-2',
      filename: 'a.mp4',
      source: 'upload',
      status: 'queued',
      created_at: '2026-12-07T10:00:00.000Z',
      updated_at: '2026-12-07T10:00:00.000Z',
      attempts: 0,
      outputs: [],
    })
    expect(Object.keys(hash).sort()).toEqual(
      ['attempts', 'created_at', 'filename', 'job_id', 'outputs', 'source', 'status', 'updated_at'].sort(),
    )
  })
})
