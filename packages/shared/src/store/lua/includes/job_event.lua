--- @include "event_fields"
--- @include "append_event"
--[[
  Append the event `type` about the job hash job_key (already updated) to the log.
  log: { events = the event log stream, config = the settings hash }; status: the status it
  reports. Returns the entry id.
]]
local function job_event(log, job_key, type, status)
  local names = event_fields(type, status)
  return append_event(log, type, status, names, redis.call('HMGET', job_key, unpack(names)), 0)
end
