--- @include "queue_item"
--[[
  Queue again the chunk items whose retry is due (of jobs still processing).

  Input:
    KEYS[1] delayed chunk items ('{job_id} {item}' scored by when due, ms)
    KEYS[2] first-items stream
    KEYS[3] chunk stream

    ARGV[1] now (ms)
    ARGV[2] most items to queue
    ARGV[3] job_prefix: prefix of job hash keys (redisKeys.job(''))
    ARGV[4] chunk_prefix: prefix of chunk hash keys (redisKeys.chunkJob(''))

  Output:
    How many were queued.
]]
local due = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[2]))
local queued = 0
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[1], member)
  local job_id, item = string.match(member, '^(%S+) (%S+)$')
  if job_id then
    local chunk_key = ARGV[4] .. job_id
    if redis.call('HGET', ARGV[3] .. job_id, 'status') == 'processing'
      and redis.call('HGET', chunk_key, item .. ':state') == 'retrying' then
      local first = redis.call('HGET', chunk_key, item .. ':first') == '1'
      queue_item(chunk_key, first and KEYS[2] or KEYS[3], job_id, item)
      queued = queued + 1
    end
  end
end
return queued
