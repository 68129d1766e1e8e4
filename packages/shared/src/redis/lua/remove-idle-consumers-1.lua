--[[
  Forget consumers of the group that are long gone (a transcoder name per process start):
  XGROUP DELCONSUMER every consumer idle for longer than ARGV[2] that holds no pending entry.
  One step, so no consumer can take an entry between the check and the removal (DELCONSUMER
  would drop that entry from the pending list).

  Input:
    KEYS[1] the stream

    ARGV[1] consumer group
    ARGV[2] idle time, ms, past which a consumer without pending entries is removed
    ARGV[3] the caller's own consumer name (never removed)

  Output:
    The names removed.
]]
local removed = {}
for _, consumer in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local fields = {}
  for i = 1, #consumer, 2 do fields[consumer[i]] = consumer[i + 1] end
  if fields.pending == 0 and fields.idle > tonumber(ARGV[2]) and fields.name ~= ARGV[3] then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], fields.name)
    removed[#removed + 1] = fields.name
  end
end
return removed
