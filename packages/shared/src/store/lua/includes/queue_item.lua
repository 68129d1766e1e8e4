--[[
  Queue a chunk work item (a new entry on stream naming the job and the item), remembering the
  entry and its stream on the job's chunk hash chunk_key. Returns the entry id.
]]
local function queue_item(chunk_key, stream, job_id, item)
  local entry = redis.call('XADD', stream, '*', 'job_id', job_id, 'item', item)
  redis.call('HSET', chunk_key, item .. ':state', 'queued', item .. ':entry', entry, item .. ':stream', stream)
  return entry
end
