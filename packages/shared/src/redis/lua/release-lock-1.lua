--[[
  Release a lock only while it is still the caller's (compare and delete).

  Input:
    KEYS[1] the lock (a string holding its holder's token)

    ARGV[1] the caller's token

  Output:
    1 when released; 0 when it is no longer the caller's (its lease ran out, and maybe another
    holder took it: that one's lock is left alone).
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
