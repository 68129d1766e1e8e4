--[[
  The caller's own outcome write already ran (its reply was lost on the way back): same lease,
  same stream entry settled. A retried write then answers as the first one did.
  lease, settled: the record's lease and settled_entry (read already); caller: the caller's
  lease; entry_id: the stream entry it processed.
]]
local function outcome_written(lease, settled, caller, entry_id)
  return lease == caller and settled == entry_id
end
