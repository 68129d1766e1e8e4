/** Lua: delete a job and every key that names it, in one step; its files go to a transcoder. */
export const DELETE_JOB_LUA = `
--- @include "key_prefix"
--- @include "index_prefix"
--- @include "owner_index_prefix"
--- @include "settle_entry"
--- @include "job_event"
-- Cancel it if it has not finished (as cancel-job does), then remove its record, its listing
-- index entries, its place in the finished and delayed sets, its dead letter and its
-- idempotency key, lower its status count, and add its id to the set of jobs whose files (outputs
-- and upload) a transcoder removes (status has no access to storage).
-- KEYS[1] job hash
-- KEYS[2] status counts hash (status -> number of jobs)
-- KEYS[3] jobs stream
-- KEYS[4] delayed sorted set
-- KEYS[5] entries hash (stream entry id -> job_id)
-- KEYS[6] finished sorted set
-- KEYS[7] dead-letter stream
-- KEYS[8] set of jobs whose files are to be removed
-- KEYS[9] retention sorted set (finished jobs by finish time)
-- KEYS[10] output retention sorted set (completed jobs by completion time)
-- ARGV[1] consumer group
-- ARGV[2] the cancel channel (PUBLISH job_id when it was running)
-- ARGV[3] (retention only) ms: delete it only if it finished at or before then ('kept' otherwise)
-- Returns the status it had, or '' when there was no such job.
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return '' end
local job_id = redis.call('HGET', KEYS[1], 'job_id')
-- Retention: only a job still finished (in the retention set) and old enough. Checked here, in
-- the same step, so a dead letter retried since it was picked is not deleted.
if ARGV[3] then
  local finished = redis.call('ZSCORE', KEYS[9], job_id)
  if not finished or tonumber(finished) > tonumber(ARGV[3]) then return 'kept' end
end
local entry = redis.call('HGET', KEYS[1], 'entry_id')
if entry and (status == 'queued' or status == 'retrying' or status == 'processing') then
  settle_entry(KEYS[3], ARGV[1], KEYS[5], entry, '')
end
if status == 'processing' then redis.call('PUBLISH', ARGV[2], job_id) end
redis.call('ZREM', KEYS[4], job_id)
redis.call('ZREM', KEYS[6], job_id)
-- Retention sets.
redis.call('ZREM', KEYS[9], job_id)
redis.call('ZREM', KEYS[10], job_id)
redis.call('HINCRBY', KEYS[2], status, -1)
local index = index_prefix(KEYS[2])
redis.call('ZREM', index .. 'all', job_id)
redis.call('ZREM', index .. status, job_id)
local owned = owner_index_prefix(KEYS[2], KEYS[1])
if owned then
  redis.call('ZREM', owned .. 'all', job_id)
  redis.call('ZREM', owned .. status, job_id)
end
local dead = redis.call('HGET', KEYS[1], 'dlq_entry')
if dead then redis.call('XDEL', KEYS[7], dead) end
local idempotency = redis.call('HGET', KEYS[1], 'idempotency_key')
if idempotency and redis.call('GET', idempotency) == job_id then redis.call('DEL', idempotency) end
job_event(KEYS[2], KEYS[1], 'job.deleted', 'deleted')
redis.call('DEL', KEYS[1])
-- Its webhook delivery log ({prefix}:deliveries:{job_id}).
redis.call('DEL', key_prefix(KEYS[2]) .. 'deliveries:' .. job_id)
redis.call('DEL', key_prefix(KEYS[2]) .. 'chunkjob:' .. job_id)
-- What a resumable upload left of it ({prefix}:tus:{job_id}).
redis.call('DEL', key_prefix(KEYS[2]) .. 'tus:' .. job_id)
redis.call('SADD', KEYS[8], job_id)
return status
`
