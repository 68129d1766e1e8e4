--- @include "settle_stream_entry"
--- @include "holds_chunk"
--[[
  A chunk item's outcome, only for the holder of its lease: 'done' with its result, 'retry' (its
  entry settled, due again at a time), or 'failed' (out of attempts, or a permanent error: the
  job's coordinator fails the job). Safe to send again after a lost reply.

  Input:
    KEYS[1] job hash
    KEYS[2] chunk hash
    KEYS[3] the item's stream
    KEYS[4] delayed chunk items
    KEYS[5] entry -> job hash

    ARGV[1] consumer group
    ARGV[2] item
    ARGV[3] the caller's lease
    ARGV[4] stream entry id
    ARGV[5] outcome: done, retry or failed
    ARGV[6] the result (JSON, done) or the error (retry, failed)
    ARGV[7] error code ('' for done)
    ARGV[8] due (ms), for retry
    ARGV[9] job id
    ARGV[10] 1: the attempt is not counted (handed back by a sick transcoder)

  Output:
    1 when recorded (or recorded already by this call); 0 when the caller lost the item.
]]
local item = ARGV[2]
if redis.call('HGET', KEYS[2], item .. ':settled') == ARGV[4] .. ' ' .. ARGV[3] then return 1 end
if not holds_chunk(KEYS[1], KEYS[2], item, ARGV[3]) then return 0 end
settle_stream_entry(KEYS[3], ARGV[1], KEYS[5], ARGV[4])
redis.call('HSET', KEYS[2], item .. ':settled', ARGV[4] .. ' ' .. ARGV[3])
if ARGV[10] == '1' then redis.call('HINCRBY', KEYS[2], item .. ':attempts', -1) end
if ARGV[5] == 'done' then
  redis.call('HSET', KEYS[2], item .. ':state', 'done', item .. ':result', ARGV[6])
elseif ARGV[5] == 'retry' then
  redis.call('HSET', KEYS[2], item .. ':state', 'retrying', item .. ':error', ARGV[6], item .. ':code', ARGV[7])
  redis.call('ZADD', KEYS[4], ARGV[8], ARGV[9] .. ' ' .. item)
else
  redis.call('HSET', KEYS[2], item .. ':state', 'failed', item .. ':error', ARGV[6], item .. ':code', ARGV[7])
end
return 1
