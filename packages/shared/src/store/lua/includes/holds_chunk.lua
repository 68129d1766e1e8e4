--[[
  The caller holds a running chunk item's lease, and its job is still processing.
  job_key: the job hash; chunk_key: its chunk hash; item: the item; lease: the caller's lease.
]]
local function holds_chunk(job_key, chunk_key, item, lease)
  return redis.call('HGET', job_key, 'status') == 'processing'
    and redis.call('HGET', chunk_key, item .. ':state') == 'running'
    and redis.call('HGET', chunk_key, item .. ':lease') == lease
end
