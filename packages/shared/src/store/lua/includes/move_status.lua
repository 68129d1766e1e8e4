--- @include "event_fields"
--- @include "append_event"
--- @include "owner_index"
--[[
  A job's status changes: the status counters and the listing indexes follow, and the event log
  gets 'job.{to}', in the same step. Each index ('{prefix}:index:{status}', and its owner's)
  holds job ids scored by their creation sequence number. The record is read once, for the
  indexes and the event.
  pipeline: { counts = the status counts hash, events = the event log stream, config = the
  settings hash, index = '{prefix}:index:' }; job_key: the job hash (its new fields written);
  from: the status before (false for a new job, which joins the 'all' indexes too); to: after.
]]
local function move_status(pipeline, job_key, from, to)
  if from then redis.call('HINCRBY', pipeline.counts, from, -1) end
  redis.call('HINCRBY', pipeline.counts, to, 1)
  local names = event_fields('job.' .. to, to)
  local values = redis.call('HMGET', job_key, 'seq', unpack(names))
  local seq, job_id, client = values[1], values[2], values[3]
  if seq then
    local indexes = { pipeline.index }
    local owned = owner_index(pipeline.index, client)
    if owned then indexes[2] = owned end
    for _, index in ipairs(indexes) do
      -- A new job joins the 'all' indexes too.
      if from then redis.call('ZREM', index .. from, job_id) else redis.call('ZADD', index .. 'all', seq, job_id) end
      redis.call('ZADD', index .. to, seq, job_id)
    end
  end
  local event = append_event(pipeline, 'job.' .. to, to, names, values, 1)
  -- Where the job's own event stream starts (GET /jobs/{id}/events replays from here), and its
  -- latest state change (a replayed failure that a dead-letter retry undid does not end it).
  if from then
    redis.call('HSET', job_key, 'last_event', event)
  else
    redis.call('HSET', job_key, 'first_event', event, 'last_event', event)
  end
end
