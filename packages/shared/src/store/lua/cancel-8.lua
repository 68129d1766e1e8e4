--- @include "settle_entry"
--- @include "move_status"
--[[
  Cancel a job that has not finished, wherever it is, in one step: queued / retrying /
  processing -> canceled. Its stream entry (waiting, or pending under the transcoder running it)
  is settled and it leaves the delayed set, so nobody starts it again; a transcoder running it
  learns on the cancel channel (and from its next lease check: the job is no longer
  'processing'), kills its ffmpeg and publishes nothing.

  Input:
    KEYS[1] job hash
    KEYS[2] status counts hash (status -> number of jobs)
    KEYS[3] jobs stream
    KEYS[4] delayed sorted set
    KEYS[5] entries hash (stream entry id -> job_id)
    KEYS[6] retention sorted set (finished job_id scored by finish time, ms)
    KEYS[7] job event log stream
    KEYS[8] settings hash (events_maxlen)

    ARGV[1] consumer group
    ARGV[2] updated_at, ISO 8601
    ARGV[3] the cancel channel (PUBLISH job_id)
    ARGV[4] now, ms since the epoch
    ARGV[5] index_prefix: '{prefix}:index:' (redisKeys.index(''))

  Output:
    The status before: '' when there is no such job; 'completed', 'failed' or 'expired'
    (nothing changed); 'canceled' (already); otherwise the job was canceled now.
]]
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return '' end
if status == 'completed' or status == 'failed' or status == 'canceled' or status == 'expired' then
  return status
end
local job_id = redis.call('HGET', KEYS[1], 'job_id')
local entry = redis.call('HGET', KEYS[1], 'entry_id')
if entry then settle_entry(KEYS[3], ARGV[1], KEYS[5], entry, '') end
redis.call('ZREM', KEYS[4], job_id)
redis.call('HSET', KEYS[1], 'status', 'canceled', 'updated_at', ARGV[2])
redis.call('HDEL', KEYS[1], 'owner', 'entry_id', 'next_attempt_at', 'eta_seconds')
move_status({ counts = KEYS[2], events = KEYS[7], config = KEYS[8], index = ARGV[5] }, KEYS[1], status, 'canceled')
redis.call('ZADD', KEYS[6], ARGV[4], job_id)
if status == 'processing' then redis.call('PUBLISH', ARGV[3], job_id) end
return status
