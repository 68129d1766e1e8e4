--[[
  Acknowledge and delete a stream entry and forget its entry -> job mapping.
  stream, group: the stream and its consumer group; entries: the entry -> job_id hash;
  entry_id: the stream entry.
]]
local function settle_stream_entry(stream, group, entries, entry_id)
  redis.call('XACK', stream, group, entry_id)
  redis.call('XDEL', stream, entry_id)
  redis.call('HDEL', entries, entry_id)
end
