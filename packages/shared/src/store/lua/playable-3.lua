--- @include "holds_lease"
--- @include "job_event"
--[[
  The job's stream is playable (the first chunk of every HLS rung is published): 'playable_at'
  set once, with a 'job.playable' event. Fenced by the job's lease.

  Input:
    KEYS[1] job hash
    KEYS[2] job event log stream
    KEYS[3] settings hash (events_maxlen)

    ARGV[1] the caller's job lease
    ARGV[2] now, ISO 8601

  Output:
    1 when recorded now; 0 when it was already, or the caller lost the job.
]]
if not holds_lease(KEYS[1], ARGV[1]) then return 0 end
if redis.call('HEXISTS', KEYS[1], 'playable_at') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'playable_at', ARGV[2])
job_event({ events = KEYS[2], config = KEYS[3] }, KEYS[1], 'job.playable', 'processing')
return 1
