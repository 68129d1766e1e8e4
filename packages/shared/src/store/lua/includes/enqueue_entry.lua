--[[
  Queue a job: a stream entry naming it, the entry -> job mapping, the entry on the record.
  stream: the jobs stream; entries: the entry -> job_id hash; job_key: the job hash ('' to
  leave the record alone); job_id. Returns the new entry id.
]]
local function enqueue_entry(stream, entries, job_key, job_id)
  local entry = redis.call('XADD', stream, '*', 'job_id', job_id)
  redis.call('HSET', entries, entry, job_id)
  if job_key ~= '' then redis.call('HSET', job_key, 'entry_id', entry) end
  return entry
end
