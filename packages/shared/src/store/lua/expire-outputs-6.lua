--- @include "move_status"
--[[
  A completed job past OUTPUT_RETENTION_DAYS becomes 'expired', its outputs marked for removal:
  completed -> expired, only while it is still completed and completed at or before the cutoff.
  The record stays (GET /jobs/{id} answers 'expired', expired_at set, outputs emptied); its id
  joins the set of jobs whose outputs a transcoder removes, in the same step: the files go after
  the record no longer points at them, and a removal that fails is tried again from that set (the
  upload too: a kept original, `original` kept -> removed, goes with the outputs). It
  stays in the retention set with its completion time: the record goes JOB_RETENTION_DAYS after
  it completed.

  Input:
    KEYS[1] job hash
    KEYS[2] status counts hash (status -> number of jobs)
    KEYS[3] output retention sorted set (completed job_id scored by completion time, ms)
    KEYS[4] set of expired jobs whose outputs are to be removed
    KEYS[5] job event log stream
    KEYS[6] settings hash (events_maxlen)

    ARGV[1] job_id
    ARGV[2] the cutoff, ms: completed at or before it
    ARGV[3] expired_at (and updated_at), ISO 8601
    ARGV[4] index_prefix: '{prefix}:index:' (redisKeys.index(''))

  Output:
    1 when it expired now; 0 otherwise (not completed, or completed after the cutoff).
]]
local completed_at = redis.call('ZSCORE', KEYS[3], ARGV[1])
if not completed_at or tonumber(completed_at) > tonumber(ARGV[2]) then return 0 end
if redis.call('HGET', KEYS[1], 'status') ~= 'completed' then
  -- Not completed (or no record): an entry left behind; it has no outputs to expire.
  redis.call('ZREM', KEYS[3], ARGV[1])
  return 0
end
redis.call('HSET', KEYS[1], 'status', 'expired', 'updated_at', ARGV[3], 'expired_at', ARGV[3], 'outputs', '[]')
if redis.call('HGET', KEYS[1], 'original') == 'kept' then redis.call('HSET', KEYS[1], 'original', 'removed') end
-- Caption tracks are files of the job's folder too: removed with it.
redis.call('HDEL', KEYS[1], 'captions')
move_status({ counts = KEYS[2], events = KEYS[5], config = KEYS[6], index = ARGV[4] }, KEYS[1], 'completed', 'expired')
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[1])
return 1
