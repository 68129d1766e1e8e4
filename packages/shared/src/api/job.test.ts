import { describe, expect, it } from 'vitest'
import { JobSchema, StatsSchema, UploadResponseSchema, UploadUrlRequestSchema } from './job.ts'

describe('UploadUrlRequestSchema', () => {
  it('accepts http and https URLs', () => {
    expect(UploadUrlRequestSchema.parse({ url: 'https://example.com/a.mp4' }).url).toBe(
      'https://example.com/a.mp4',
    )
    expect(UploadUrlRequestSchema.safeParse({ url: 'http://example.com/a.mp4' }).success).toBe(true)
  })

  it('refuses other schemes, relative URLs and missing urls with a readable message', () => {
    for (const url of [
      'ftp://example.com/a.mp4',
      'file:///etc/passwd',
      'data:video/mp4,AAAA',
      '/a.mp4',
      'gopher://x',
    ]) {
      const result = UploadUrlRequestSchema.safeParse({ url })
      expect(result.success, url).toBe(false)
      expect(result.error?.issues[0]?.message).toBe('url must be an absolute http:// or https:// URL')
    }
    expect(UploadUrlRequestSchema.safeParse({}).success).toBe(false)
  })
})

describe('JobSchema', () => {
  const job = {
    job_id: 'abc',
    filename: 'video.mp4',
    source: 'upload',
    status: 'completed',
    created_at: '2024-01-01T00:00:00Z',
    updated_at: '2024-01-01T00:01:30Z',
    attempts: 1,
    outputs: [
      {
        profile: '720p',
        path: '/output/abc/720p.mp4',
        width: 1280,
        height: 720,
        duration: 2,
        size_bytes: 1,
        bitrate: 4,
        codec: 'h264',
      },
    ],
  }

  it('parses a job with outputs', () => {
    expect(JobSchema.parse(job)).toEqual(job)
  })

  it('refuses unknown statuses and sources', () => {
    expect(JobSchema.safeParse({ ...job, status: 'done' }).success).toBe(false)
    expect(JobSchema.safeParse({ ...job, source: 'email' }).success).toBe(false)
  })
})

describe('API bodies', () => {
  it('UploadResponseSchema is the seed body exactly', () => {
    const body = {
      job_id: 'abc123-def456',
      filename: 'video.mp4',
      status: 'queued',
      message: 'Video uploaded and queued for processing',
      created_at: '2024-01-01T00:00:00Z',
    }
    expect(UploadResponseSchema.parse(body)).toEqual(body)
    expect(UploadResponseSchema.safeParse({ ...body, message: 'ok' }).success).toBe(false)
  })

  it('StatsSchema takes the seed body', () => {
    const stats = {
      queue_depth: 5,
      dlq_depth: 0,
      total_jobs: 100,
      jobs_by_status: { completed: 95, failed: 2, processing: 3 },
      processing_rate_per_minute: 2.5,
    }
    expect(StatsSchema.parse(stats)).toEqual(stats)
  })
})
