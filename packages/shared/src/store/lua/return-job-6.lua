--- @include "holds_lease"
--- @include "wrote_outcome"
--- @include "settle_entry"
--- @include "enqueue_entry"
--- @include "move_status"
--[[
  Hand a job back to the queue, its attempt not counted (its transcoder stood down). A transcoder
  that is sick (disk full, storage unreachable, an encoder missing, ffmpeg killed for memory)
  gives back the job it holds: 'processing' -> 'queued', its attempt uncounted (attempts back to
  what they were before this start), a new stream entry for any consumer to read at once, and the
  old entry settled, in one step. The record and the 'job.queued' event say why (error,
  error_code). The lease stays bumped: the sick worker's late writes are refused.

  Input:
    KEYS[1] job hash
    KEYS[2] status counts hash (status -> number of jobs)
    KEYS[3] jobs stream
    KEYS[4] entries hash (stream entry id -> job_id)
    KEYS[5] job event log stream
    KEYS[6] settings hash (events_maxlen)

    ARGV[1] consumer group
    ARGV[2] stream entry id
    ARGV[3] updated_at, ISO 8601
    ARGV[4] why it was handed back (the record's error)
    ARGV[5] code of that reason (error_code)
    ARGV[6] the caller's lease
    ARGV[7] index_prefix: '{prefix}:index:' (redisKeys.index(''))

  Output:
    1 when returned, and again when this very call already returned it (a retry after its reply
    was lost: still 'queued' under the caller's lease, its entry settled by it). 0 (nothing
    changed, nothing acknowledged) when the caller no longer holds the job.
]]
if not holds_lease(KEYS[1], ARGV[6]) then
  local status = redis.call('HGET', KEYS[1], 'status')
  if status == 'queued' and wrote_outcome(KEYS[1], ARGV[6], ARGV[2]) then return 1 end
  return 0
end
local job_id = redis.call('HGET', KEYS[1], 'job_id')
local attempts = tonumber(redis.call('HGET', KEYS[1], 'attempts') or '1')
redis.call('HSET', KEYS[1], 'status', 'queued', 'updated_at', ARGV[3], 'attempts', math.max(0, attempts - 1),
  'error', ARGV[4], 'error_code', ARGV[5])
redis.call('HDEL', KEYS[1], 'owner', 'progress', 'eta_seconds')
settle_entry(KEYS[3], ARGV[1], KEYS[4], ARGV[2], KEYS[1])
enqueue_entry(KEYS[3], KEYS[4], KEYS[1], job_id)
move_status({ counts = KEYS[2], events = KEYS[5], config = KEYS[6], index = ARGV[7] }, KEYS[1], 'processing', 'queued')
return 1
