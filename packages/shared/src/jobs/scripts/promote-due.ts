/** Lua: put retries whose backoff has elapsed back on the stream. */
export const PROMOTE_DUE_LUA = `
-- Move due job ids from the delayed set to the stream. Atomic, so two workers promoting at the
-- same moment never queue one job twice.
-- KEYS[1] delayed sorted set (job_id scored by due time, ms)
-- KEYS[2] jobs stream
-- KEYS[3] entries hash (stream entry id -> job_id)
-- ARGV[1] now, ms since the epoch
-- ARGV[2] most ids to move in one call
-- Returns the number of jobs queued.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, job_id in ipairs(due) do
  redis.call('ZREM', KEYS[1], job_id)
  local entry = redis.call('XADD', KEYS[2], '*', 'job_id', job_id)
  redis.call('HSET', KEYS[3], entry, job_id)
end
return #due
`
