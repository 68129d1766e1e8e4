/**
 * Every Redis key the pipeline uses, in one place (after BullMQ's queue-keys.ts). All keys share a
 * prefix so pipelines and test runs can share one Redis without seeing each other.
 */
export interface RedisKeys {
  /** Stream of job messages `{ job_id }`, read by the transcoders' consumer group. */
  readonly stream: string
  /** Consumer group name on `stream`. */
  readonly group: string
  /** Stream of dead-lettered jobs `{ job_id, error, failed_at }`. */
  readonly dlq: string
  /** Hash: status -> number of jobs currently in that status. */
  readonly statusCounts: string
  /** Counter of every job ever created. */
  readonly totalJobs: string
  /** Sorted set: job_id scored by the time (ms) it finished, for the processing rate. */
  readonly finished: string
  /** Hash holding one job record. */
  job(id: string): string
}

export function redisKeys(prefix = 'vpp'): RedisKeys {
  return {
    stream: `${prefix}:jobs`,
    group: 'transcoders',
    dlq: `${prefix}:dlq`,
    statusCounts: `${prefix}:stats:status`,
    totalJobs: `${prefix}:stats:total`,
    finished: `${prefix}:stats:finished`,
    job: (id) => `${prefix}:job:${id}`,
  }
}
