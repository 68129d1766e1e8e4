--- @include "settle_stream_entry"
--[[
  Take a chunk item for processing: a new lease, its attempt counted.

  Input:
    KEYS[1] job hash
    KEYS[2] chunk hash
    KEYS[3] the stream the entry came from
    KEYS[4] entry -> job hash (unused by chunk entries; settle_stream_entry clears it)

    ARGV[1] consumer group
    ARGV[2] item
    ARGV[3] stream entry id
    ARGV[4] consumer name

  Output:
    {'started', lease, attempts, plan}, or {'gone'} (the job is not processing: canceled,
    deleted, failed) or {'stale'} (the item is done, or queued again under another entry); a gone
    or stale entry is settled.
]]
local item = ARGV[2]
if redis.call('HGET', KEYS[1], 'status') ~= 'processing' or redis.call('HEXISTS', KEYS[2], 'plan') == 0 then
  settle_stream_entry(KEYS[3], ARGV[1], KEYS[4], ARGV[3])
  return {'gone'}
end
local state = redis.call('HGET', KEYS[2], item .. ':state')
if state == 'done' or state == 'failed' or redis.call('HGET', KEYS[2], item .. ':entry') ~= ARGV[3] then
  settle_stream_entry(KEYS[3], ARGV[1], KEYS[4], ARGV[3])
  return {'stale'}
end
local lease = redis.call('HINCRBY', KEYS[2], item .. ':lease', 1)
local attempts = redis.call('HINCRBY', KEYS[2], item .. ':attempts', 1)
redis.call('HSET', KEYS[2], item .. ':state', 'running', item .. ':holder', ARGV[4], item .. ':at', 0)
redis.call('HDEL', KEYS[2], item .. ':partial')
return {'started', lease, attempts, redis.call('HGET', KEYS[2], 'plan')}
