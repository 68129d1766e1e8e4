--[[
  The caller still holds the job: it is 'processing' under the caller's lease (fencing token).
  status, lease: the record's (read already); caller: the caller's lease.
]]
local function lease_held(status, lease, caller)
  return status == 'processing' and lease == caller
end
