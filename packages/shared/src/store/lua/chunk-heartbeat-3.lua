--- @include "holds_chunk"
--[[
  Keep a running chunk item's pending entry fresh, and record how far it got (seconds encoded)
  and what it has published so far.

  Input:
    KEYS[1] job hash
    KEYS[2] chunk hash
    KEYS[3] the item's stream

    ARGV[1] consumer group
    ARGV[2] consumer name
    ARGV[3] item
    ARGV[4] the caller's lease
    ARGV[5] stream entry id ('' to leave the entry as it is)
    ARGV[6] seconds encoded so far ('' to leave as it is)
    ARGV[7] what it has published so far (JSON; '' to leave as it is)

  Output:
    1; 0 when the caller no longer holds the item (it should stop).
]]
if not holds_chunk(KEYS[1], KEYS[2], ARGV[3], ARGV[4]) then return 0 end
if ARGV[5] ~= '' then redis.call('XCLAIM', KEYS[3], ARGV[1], ARGV[2], 0, ARGV[5], 'JUSTID') end
if ARGV[6] ~= '' then redis.call('HSET', KEYS[2], ARGV[3] .. ':at', ARGV[6]) end
if ARGV[7] ~= '' then redis.call('HSET', KEYS[2], ARGV[3] .. ':partial', ARGV[7]) end
return 1
