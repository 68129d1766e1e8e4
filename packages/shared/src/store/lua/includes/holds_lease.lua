--- @include "lease_held"
--[[
  lease_held, read from the job hash job_key; lease: the caller's lease.
]]
local function holds_lease(job_key, lease)
  return lease_held(redis.call('HGET', job_key, 'status'), redis.call('HGET', job_key, 'lease'), lease)
end
