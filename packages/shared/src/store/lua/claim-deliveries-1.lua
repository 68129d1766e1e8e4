--[[
  Take up to ARGV[3] due webhook deliveries for one lease: their due time moves past it.

  Input:
    KEYS[1] due sorted set (delivery key -> when it is due, ms)

    ARGV[1] now (ms)
    ARGV[2] lease (ms)
    ARGV[3] most to take

  Output:
    The claimed delivery keys. One whose sender dies is due again when its lease ends.
]]
local due = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[3]))
for _, key in ipairs(due) do
  redis.call('ZADD', KEYS[1], 'XX', tonumber(ARGV[1]) + tonumber(ARGV[2]), key)
end
return due
