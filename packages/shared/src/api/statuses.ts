/**
 * A job only moves forward: queued -> processing -> (retrying -> processing)* -> completed | failed,
 * or to canceled from any of the first three (POST /jobs/{id}/cancel), and completed -> expired
 * when its outputs are removed after OUTPUT_RETENTION_DAYS. The ways back are an operator's
 * retry from the dead-letter queue (failed -> queued) and a sick transcoder handing back the job
 * it holds, its attempt not counted (processing -> queued).
 */
export const JOB_STATUSES = [
  'queued',
  'processing',
  'retrying',
  'completed',
  'failed',
  'canceled',
  'expired',
] as const
export type JobStatus = (typeof JOB_STATUSES)[number]
/** Statuses a job never leaves on its own (but for completed -> expired, by retention). */
export const FINAL_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'canceled', 'expired']
