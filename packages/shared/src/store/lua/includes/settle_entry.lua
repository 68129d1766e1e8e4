--- @include "settle_stream_entry"
--[[
  settle_stream_entry, and mark on the job who settled it (the finish script writes that mark
  with its own fields).
  stream, group: the jobs stream and its consumer group; entries: the entry -> job_id hash;
  entry_id: the stream entry; job_key: the job hash it named ('' for none).
]]
local function settle_entry(stream, group, entries, entry_id, job_key)
  settle_stream_entry(stream, group, entries, entry_id)
  if job_key ~= '' then redis.call('HSET', job_key, 'settled_entry', entry_id) end
end
