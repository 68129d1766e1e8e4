/** Lua: take a job for processing and hand out a new lease (fencing token). */
export const START_JOB_LUA = `
-- Move a job to 'processing' for one consumer, count the attempt, bump its lease.
-- KEYS[1] job hash
-- KEYS[2] status counts hash (status -> number of jobs)
-- ARGV[1] updated_at, ISO 8601
-- ARGV[2] consumer name
-- ARGV[3] stream entry id being processed
-- Returns {status before, lease, attempts}. lease is 0 when the job was not started: it does not
-- exist (status ''), it is final ('completed'/'failed'), or it is 'processing' under another
-- stream entry (a duplicate). A 'processing' job under the same entry is a takeover (its
-- consumer died or stalled): it starts again with a new lease, so the old owner's late writes
-- are refused.
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'', 0, 0} end
if status ~= 'queued' and status ~= 'retrying' and status ~= 'processing' then return {status, 0, 0} end
if status == 'processing' and redis.call('HGET', KEYS[1], 'entry_id') ~= ARGV[3] then return {status, 0, 0} end
local lease = redis.call('HINCRBY', KEYS[1], 'lease', 1)
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'status', 'processing', 'updated_at', ARGV[1], 'owner', ARGV[2], 'entry_id', ARGV[3])
redis.call('HDEL', KEYS[1], 'next_attempt_at', 'progress', 'eta_seconds')
if status ~= 'processing' then
  redis.call('HINCRBY', KEYS[2], status, -1)
  redis.call('HINCRBY', KEYS[2], 'processing', 1)
end
return {status, lease, attempts}
`
