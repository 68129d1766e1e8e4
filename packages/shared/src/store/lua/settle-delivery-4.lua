--[[
  One webhook delivery attempt's outcome: logged with the job, then done with, or due again. The
  log is kept only while the job exists (a deleted job leaves none behind).

  Input:
    KEYS[1] the delivery hash
    KEYS[2] due sorted set
    KEYS[3] the job's delivery log (list)
    KEYS[4] the job hash

    ARGV[1] 'done' (delivered, or given up) or 'again'
    ARGV[2] when it is due again (ms)
    ARGV[3] the attempt's log entry (JSON)
    ARGV[4] how many log entries a job keeps
    ARGV[5] the attempt number

  Output:
    1.
]]
if redis.call('EXISTS', KEYS[4]) == 1 then
  redis.call('RPUSH', KEYS[3], ARGV[3])
  redis.call('LTRIM', KEYS[3], -tonumber(ARGV[4]), -1)
end
if ARGV[1] == 'done' then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], KEYS[1])
else
  redis.call('HSET', KEYS[1], 'attempt', ARGV[5])
  redis.call('ZADD', KEYS[2], 'XX', ARGV[2], KEYS[1])
end
return 1
