--- @include "holds_lease"
--[[
  Keep a live worker's pending entry fresh so XAUTOCLAIM does not take it over: reset the idle
  time of a pending entry, only while the caller still holds the job's lease (never steal back
  an entry another consumer has taken over).

  Input:
    KEYS[1] job hash
    KEYS[2] jobs stream

    ARGV[1] consumer group
    ARGV[2] consumer name
    ARGV[3] stream entry id
    ARGV[4] the caller's lease

  Output:
    1 when refreshed; 0 when the caller no longer holds the job (it should stop).
]]
if not holds_lease(KEYS[1], ARGV[4]) then return 0 end
redis.call('XCLAIM', KEYS[2], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')
return 1
