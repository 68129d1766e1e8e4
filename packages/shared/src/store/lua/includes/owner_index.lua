--[[
  The listing indexes of the API key that owns a job (its `api_client`, when keys are on), as
  redisKeys.ownerIndex names them: '{prefix}:index:key:{api_client}:{all|status}', so a key lists
  its own jobs from its own sets.
  index_prefix: '{prefix}:index:' (redisKeys.index(''), passed in by the script's caller);
  client: the job's api_client (false for none). Returns '{prefix}:index:key:{api_client}:', or
  false for a job no key owns.
]]
local function owner_index(index_prefix, client)
  if not client then return false end
  return index_prefix .. 'key:' .. client .. ':'
end
