--- @include "outcome_written"
--[[
  outcome_written, read from the job hash job_key; lease: the caller's lease; entry_id: the
  stream entry it processed.
]]
local function wrote_outcome(job_key, lease, entry_id)
  return outcome_written(redis.call('HGET', job_key, 'lease'), redis.call('HGET', job_key, 'settled_entry'), lease,
    entry_id)
end
