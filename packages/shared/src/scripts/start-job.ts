/** Lua: claim a job for processing. Kept apart so the state change is one atomic step. */
export const START_JOB_LUA = `
-- Move a job to 'processing' and count the attempt.
-- KEYS[1] job hash
-- KEYS[2] status counts hash (status -> number of jobs)
-- ARGV[1] updated_at, ISO 8601
-- Returns the status the job had before the call ('' when there is no such job).
-- The job was started only when that status is 'queued' or 'processing' (a redelivery);
-- 'completed' and 'failed' are final and never move back.
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return '' end
if status ~= 'queued' and status ~= 'processing' then return status end
redis.call('HSET', KEYS[1], 'status', 'processing', 'updated_at', ARGV[1])
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
if status == 'queued' then
  redis.call('HINCRBY', KEYS[2], 'queued', -1)
  redis.call('HINCRBY', KEYS[2], 'processing', 1)
end
return status
`
