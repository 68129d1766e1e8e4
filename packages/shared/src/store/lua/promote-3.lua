--- @include "enqueue_entry"
--[[
  Put retries whose backoff has elapsed back on the stream: move due job ids from the delayed
  set to the stream. Atomic, so two workers promoting at the same moment never queue one job
  twice. The job stays 'retrying' (with its past next_attempt_at) until a transcoder starts it.

  Input:
    KEYS[1] delayed sorted set (job_id scored by due time, ms)
    KEYS[2] jobs stream
    KEYS[3] entries hash (stream entry id -> job_id)

    ARGV[1] now, ms since the epoch
    ARGV[2] most ids to move in one call
    ARGV[3] job_prefix: prefix of job hash keys (redisKeys.job(''))

  Output:
    The number of jobs queued.
]]
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, job_id in ipairs(due) do
  redis.call('ZREM', KEYS[1], job_id)
  enqueue_entry(KEYS[2], KEYS[3], ARGV[3] .. job_id, job_id)
end
return #due
