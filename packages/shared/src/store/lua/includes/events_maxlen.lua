--[[
  The event log's cap: `events_maxlen` of the settings hash config_key (default 100000), read
  once a script run (a finish that starts the next job appends two events).
]]
local events_maxlen_read = false
local function events_maxlen(config_key)
  if not events_maxlen_read then
    events_maxlen_read = tonumber(redis.call('HGET', config_key, 'events_maxlen') or '100000')
  end
  return events_maxlen_read
end
