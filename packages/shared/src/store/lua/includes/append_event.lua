--- @include "events_maxlen"
--[[
  Append one entry to the job event log, capped near its `events_maxlen`, in the step that made
  the change: no event without its change, no change without its event.
  log: { events = the event log stream, config = the settings hash }; type: 'job.queued', ...;
  status: the status it reports; names: from event_fields; values[offset + i]: the value of
  names[i] (false when the record has none). Returns the entry id.
]]
local function append_event(log, type, status, names, values, offset)
  local fields = { 'type', type, 'job_id', values[offset + 1], 'status', status }
  for i = 2, #names do
    local value = values[offset + i]
    if value then fields[#fields + 1] = names[i]; fields[#fields + 1] = value end
  end
  return redis.call('XADD', log.events, 'MAXLEN', '~', events_maxlen(log.config), '*', unpack(fields))
end
