--- @include "holds_lease"
--- @include "job_event"
--[[
  Record a running job's progress, only for the consumer holding its lease. A 'job.progress'
  event goes to the log at most once a second per job (by Redis's clock).

  Input:
    KEYS[1] job hash
    KEYS[2] job event log stream
    KEYS[3] settings hash (events_maxlen)

    ARGV[1] the caller's lease
    ARGV[2] progress, 0-100
    ARGV[3] estimated seconds left ('' when unknown)

  Output:
    1 when recorded; 0 when the caller no longer holds the job.
]]
if not holds_lease(KEYS[1], ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'progress', ARGV[2])
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[1], 'eta_seconds', ARGV[3])
else
  redis.call('HDEL', KEYS[1], 'eta_seconds')
end
local time = redis.call('TIME')
local now_ms = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local last = tonumber(redis.call('HGET', KEYS[1], 'progress_event_ms') or '0')
if now_ms - last >= 1000 then
  redis.call('HSET', KEYS[1], 'progress_event_ms', now_ms)
  job_event({ events = KEYS[2], config = KEYS[3] }, KEYS[1], 'job.progress', 'processing')
end
return 1
