--- @include "holds_lease"
--- @include "wrote_outcome"
--- @include "settle_entry"
--- @include "move_status"
--[[
  Park a job for a later attempt (backoff) without holding a stream entry or a worker: after a
  transient failure, 'processing' -> 'retrying', due again at ARGV[4]; the stream entry is
  settled, so no worker slot or pending entry is held while the job waits.

  Input:
    KEYS[1] job hash
    KEYS[2] status counts hash (status -> number of jobs)
    KEYS[3] jobs stream
    KEYS[4] delayed sorted set (job_id scored by due time, ms)
    KEYS[5] entries hash (stream entry id -> job_id)
    KEYS[6] job event log stream
    KEYS[7] settings hash (events_maxlen)

    ARGV[1] consumer group
    ARGV[2] stream entry id
    ARGV[3] updated_at, ISO 8601
    ARGV[4] due time, ms since the epoch
    ARGV[5] due time, ISO 8601 (next_attempt_at)
    ARGV[6] error of this attempt
    ARGV[7] the caller's lease
    ARGV[8] error code of this attempt
    ARGV[9] index_prefix: '{prefix}:index:' (redisKeys.index(''))

  Output:
    1 when parked, and again when this very call already parked it (a retry after its reply was
    lost: the job is still 'retrying', or queued again by promote, under the caller's lease).
    0 (nothing changed, nothing acknowledged) when the caller no longer holds the job.
]]
if not holds_lease(KEYS[1], ARGV[7]) then
  local status = redis.call('HGET', KEYS[1], 'status')
  if (status == 'retrying' or status == 'queued') and wrote_outcome(KEYS[1], ARGV[7], ARGV[2]) then return 1 end
  return 0
end
redis.call('HSET', KEYS[1], 'status', 'retrying', 'updated_at', ARGV[3], 'next_attempt_at', ARGV[5], 'error', ARGV[6],
  'error_code', ARGV[8])
redis.call('HDEL', KEYS[1], 'owner', 'entry_id')
move_status({ counts = KEYS[2], events = KEYS[6], config = KEYS[7], index = ARGV[9] }, KEYS[1], 'processing', 'retrying')
redis.call('ZADD', KEYS[4], ARGV[4], redis.call('HGET', KEYS[1], 'job_id'))
settle_entry(KEYS[3], ARGV[1], KEYS[5], ARGV[2], KEYS[1])
return 1
