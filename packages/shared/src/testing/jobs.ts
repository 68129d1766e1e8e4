import type { Job } from '../api/job.ts'
import type { Claim } from '../store/job-hash.ts'
import { eventKeys } from '../store/job-outcomes.ts'
import type { JobStore } from '../store/job-store.ts'
import { withIncludes } from '../store/lua/index.ts'

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

/** Lua: what a transcoder writes once the first chunk of every HLS rung is published. */
const MARK_PLAYABLE_LUA = withIncludes(`
--- @include "job_event"
-- KEYS[1] job hash
-- KEYS[2] job event log stream
-- KEYS[3] settings hash (events_maxlen)
-- ARGV[1] playable_at (ISO 8601)
-- Returns the job.playable event's id.
redis.call('HSET', KEYS[1], 'playable_at', ARGV[1])
return job_event({ events = KEYS[2], config = KEYS[3] }, KEYS[1], 'job.playable', 'processing')
`)

/**
 * Make a processing job playable as a transcoder does when the first chunk of every HLS rung is
 * published: `playable_at` on its record and a `job.playable` event in the log, in one step (the
 * `job_event` fragment). For the tests of what reads them: status, SSE, webhooks, the console.
 * Returns the event's id.
 */
export async function markPlayable(store: JobStore, id: string, at: Date): Promise<string> {
  const keys = [store.keys.job(id), ...eventKeys(store.keys)]
  return (await store.client.eval(MARK_PLAYABLE_LUA, { keys, arguments: [at.toISOString()] })) as string
}

/**
 * Take the next entry of the job stream and start its job as a transcoder would (as `consumer`):
 * the job is `processing` under the returned claim. For tests with no transcoder running.
 */
export async function takeJob(store: JobStore, consumer = 'test'): Promise<Claim> {
  const reply = (await store.client.xReadGroup(
    store.keys.group,
    consumer,
    { key: store.keys.stream, id: '>' },
    { COUNT: 1 },
  )) as Array<{ messages: Array<{ id: string; message: Record<string, string> }> }> | null
  const entry = reply?.[0]?.messages[0]
  if (!entry) throw new Error('no entry in the job stream')
  const started = await store.start(entry.message.job_id ?? '', entry.id, consumer, new Date())
  if (!started.started) throw new Error(`job ${entry.message.job_id} not started: ${started.status}`)
  return started.claim
}
