--[[
  Extend a lock's lease only while it is still the caller's (compare and PEXPIRE).

  Input:
    KEYS[1] the lock (a string holding its holder's token)

    ARGV[1] the caller's token
    ARGV[2] the new lease, ms from now

  Output:
    1 when extended; 0 when it is no longer the caller's.
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
