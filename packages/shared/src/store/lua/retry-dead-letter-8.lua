--- @include "enqueue_entry"
--- @include "move_status"
--[[
  Replay a dead-lettered job (operator action), removing its DLQ entry atomically: 'failed' ->
  'queued' with attempts reset and a new stream entry; the DLQ entry is deleted in the same
  step, so retrying one entry twice cannot queue the job twice.

  Input:
    KEYS[1] dead-letter stream
    KEYS[2] job hash (of the job the entry names)
    KEYS[3] status counts hash (status -> number of jobs)
    KEYS[4] jobs stream
    KEYS[5] entries hash (stream entry id -> job_id)
    KEYS[6] retention sorted set (queued again, it is no longer finished)
    KEYS[7] job event log stream
    KEYS[8] settings hash (events_maxlen)

    ARGV[1] dead-letter entry id
    ARGV[2] job_id the entry names (read by the caller just before)
    ARGV[3] updated_at, ISO 8601
    ARGV[4] index_prefix: '{prefix}:index:' (redisKeys.index(''))

  Output:
    1 when queued; 0 when the entry is gone (already retried or discarded); -1 when the job is
    no longer 'failed' (the entry is then removed as stale).
]]
local entry = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #entry == 0 then return 0 end
redis.call('XDEL', KEYS[1], ARGV[1])
if redis.call('HGET', KEYS[2], 'status') ~= 'failed' then return -1 end
redis.call('HSET', KEYS[2], 'status', 'queued', 'attempts', 0, 'updated_at', ARGV[3], 'outputs', '[]')
redis.call('HDEL', KEYS[2], 'error', 'error_code', 'next_attempt_at')
move_status({ counts = KEYS[3], events = KEYS[7], config = KEYS[8], index = ARGV[4] }, KEYS[2], 'failed', 'queued')
redis.call('ZREM', KEYS[6], ARGV[2])
enqueue_entry(KEYS[4], KEYS[5], KEYS[2], ARGV[2])
return 1
