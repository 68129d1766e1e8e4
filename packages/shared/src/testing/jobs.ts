import type { Job } from '../jobs/job.ts'

/** A fresh `queued` job record (an upload named clip.mp4, now), with `fields` on top. */
export function queuedJob(id: string, fields: Partial<Job> = {}): Job {
  const at = fields.created_at ?? new Date().toISOString()
  return {
    job_id: id,
    filename: 'clip.mp4',
    source: 'upload',
    status: 'queued',
    created_at: at,
    updated_at: at,
    attempts: 0,
    outputs: [],
    ...fields,
  }
}
