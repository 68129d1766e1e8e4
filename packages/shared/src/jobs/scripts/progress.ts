/** Lua: record a running job's progress, only for the consumer holding its lease. */
export const PROGRESS_LUA = `
--- @include "holds_lease"
-- KEYS[1] job hash
-- ARGV[1] the caller's lease
-- ARGV[2] progress, 0-100
-- ARGV[3] estimated seconds left ('' when unknown)
-- Returns 1 when recorded; 0 when the caller no longer holds the job.
if not holds_lease(KEYS[1], ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'progress', ARGV[2])
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[1], 'eta_seconds', ARGV[3])
else
  redis.call('HDEL', KEYS[1], 'eta_seconds')
end
return 1
`
