--- @include "holds_lease"
--- @include "queue_item"
--[[
  Plan a job's chunked encode, or pick up the one already planned (a takeover, a retry from the
  dead-letter queue): every item not done whose entry is gone is queued again, a failed one with
  its attempts reset. Fenced by the job's lease. The work items of a chunked encode ('c00003',
  'audio') are kept in the job's chunk hash (fields '{item}:{field}') and queued on the chunk
  streams; each has the machinery a job has: a stream entry, attempts, a lease handed out at each
  start, a retry backoff, and an outcome recorded only by the holder of its lease.

  Input:
    KEYS[1] job hash
    KEYS[2] chunk hash
    KEYS[3] first-items stream
    KEYS[4] chunk stream
    KEYS[5] delayed chunk items (sorted set)

    ARGV[1] the caller's job lease
    ARGV[2] job id
    ARGV[3] the plan (JSON), written when there is none
    ARGV[4..] the items, in order: 'name first' (first: 1 or 0)

  Output:
    {0} when the caller lost the job; else {1 (planned now) or 2 (planned before), queued}.
]]
if not holds_lease(KEYS[1], ARGV[1]) then return {0} end
local planned = redis.call('HEXISTS', KEYS[2], 'plan') == 1
local queued = 0
if not planned then
  local names = {}
  for i = 4, #ARGV do
    local name, first = string.match(ARGV[i], '^(%S+) (%d)$')
    names[#names + 1] = name
    redis.call('HSET', KEYS[2], name .. ':attempts', 0, name .. ':lease', 0, name .. ':first', first)
    queue_item(KEYS[2], first == '1' and KEYS[3] or KEYS[4], ARGV[2], name)
    queued = queued + 1
  end
  redis.call('HSET', KEYS[2], 'plan', ARGV[3], 'items', table.concat(names, ','))
  return {1, queued}
end
for name in string.gmatch(redis.call('HGET', KEYS[2], 'items') or '', '[^,]+') do
  local state = redis.call('HGET', KEYS[2], name .. ':state')
  if state ~= 'done' then
    local waiting = redis.call('ZSCORE', KEYS[5], ARGV[2] .. ' ' .. name)
    local entry = redis.call('HGET', KEYS[2], name .. ':entry')
    local stream = redis.call('HGET', KEYS[2], name .. ':stream')
    local live = entry and stream and #redis.call('XRANGE', stream, entry, entry) > 0
    if state == 'failed' or (not waiting and not live) then
      if state == 'failed' then redis.call('HSET', KEYS[2], name .. ':attempts', 0) end
      redis.call('HDEL', KEYS[2], name .. ':error', name .. ':code')
      local first = redis.call('HGET', KEYS[2], name .. ':first') == '1'
      queue_item(KEYS[2], first and KEYS[3] or KEYS[4], ARGV[2], name)
      queued = queued + 1
    end
  end
end
return {2, queued}
