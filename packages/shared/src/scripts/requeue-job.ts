/** Lua: put a job interrupted by a shutdown back on the queue, in one atomic step. */
export const REQUEUE_JOB_LUA = `
-- Requeue a job whose transcoder is shutting down.
-- KEYS[1] job hash
-- KEYS[2] status counts hash (status -> number of jobs)
-- KEYS[3] jobs stream
-- ARGV[1] consumer group
-- ARGV[2] stream entry id being given up
-- ARGV[3] updated_at, ISO 8601
-- Returns 1 when the job went back to 'queued' with a new stream entry; 0 when it was not
-- 'processing' (then only the old entry is settled).
local status = redis.call('HGET', KEYS[1], 'status')
local moved = 0
if status == 'processing' then
  redis.call('HSET', KEYS[1], 'status', 'queued', 'updated_at', ARGV[3])
  redis.call('HINCRBY', KEYS[2], 'processing', -1)
  redis.call('HINCRBY', KEYS[2], 'queued', 1)
  redis.call('XADD', KEYS[3], '*', 'job_id', redis.call('HGET', KEYS[1], 'job_id'))
  moved = 1
end
redis.call('XACK', KEYS[3], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[3], ARGV[2])
return moved
`
