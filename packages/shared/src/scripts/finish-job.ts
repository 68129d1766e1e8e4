/** Lua: publish a job's result and settle its stream entry in one atomic step. */
export const FINISH_JOB_LUA = `
-- Publish the result of a job and settle its stream entry.
-- KEYS[1] job hash
-- KEYS[2] status counts hash (status -> number of jobs)
-- KEYS[3] jobs stream
-- KEYS[4] finished sorted set (job_id scored by finish time, ms)
-- KEYS[5] dead-letter stream
-- ARGV[1] consumer group
-- ARGV[2] stream entry id
-- ARGV[3] new status: 'completed' or 'failed'
-- ARGV[4] updated_at, ISO 8601
-- ARGV[5] now, ms since the epoch
-- ARGV[6] outputs, JSON array ('[]' when failed)
-- ARGV[7] error text ('' when completed)
-- ARGV[8] how long the finished set keeps an entry, ms
-- Returns 1 when the job moved from 'processing' to ARGV[3]; 0 when it was not processing, in
-- which case nothing is changed but the entry is still acknowledged (a replayed message).
local status = redis.call('HGET', KEYS[1], 'status')
local moved = 0
if status == 'processing' then
  redis.call('HSET', KEYS[1], 'status', ARGV[3], 'updated_at', ARGV[4], 'outputs', ARGV[6])
  if ARGV[7] ~= '' then
    redis.call('HSET', KEYS[1], 'error', ARGV[7])
  else
    redis.call('HDEL', KEYS[1], 'error')
  end
  redis.call('HINCRBY', KEYS[2], 'processing', -1)
  redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
  redis.call('ZADD', KEYS[4], ARGV[5], redis.call('HGET', KEYS[1], 'job_id'))
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', tonumber(ARGV[5]) - tonumber(ARGV[8]))
  if ARGV[3] == 'failed' then
    redis.call('XADD', KEYS[5], '*', 'job_id', redis.call('HGET', KEYS[1], 'job_id'), 'error', ARGV[7], 'failed_at', ARGV[4])
  end
  moved = 1
end
redis.call('XACK', KEYS[3], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[3], ARGV[2])
return moved
`
