/**
 * Lua: webhook deliveries, kept in Redis so each survives the death of the process sending it
 * (and, with the append-only file, a Redis restart). A delivery is a hash (its target, body,
 * webhook-id, attempt) and a member of the due set, scored by when it is next sent.
 */

/** Turn one event into its deliveries and acknowledge the event, in one step (so never twice). */
export const ENQUEUE_DELIVERIES_LUA = `
-- KEYS[1] due sorted set (delivery key -> when it is due, ms)
-- KEYS[2] the event log stream
-- ARGV[1] the deliveries' consumer group; ARGV[2] the event's entry id; ARGV[3] due (ms)
-- ARGV[4] job_id; ARGV[5] event type; ARGV[6] the body (JSON)
-- ARGV[7..] delivery key, target URL, webhook-id, target kind ('callback': the job's callback_url,
--   'operator': one of WEBHOOK_URLS), for each target
-- Returns how many deliveries were made (a replay of the same event makes none).
local made = 0
for i = 7, #ARGV, 4 do
  if redis.call('EXISTS', ARGV[i]) == 0 then
    redis.call('HSET', ARGV[i], 'url', ARGV[i + 1], 'webhook_id', ARGV[i + 2], 'target', ARGV[i + 3],
      'event_id', ARGV[2], 'job_id', ARGV[4], 'type', ARGV[5], 'body', ARGV[6], 'attempt', 0)
    redis.call('ZADD', KEYS[1], 'NX', ARGV[3], ARGV[i])
    made = made + 1
  end
end
redis.call('XACK', KEYS[2], ARGV[1], ARGV[2])
return made
`

/** Take up to ARGV[3] due deliveries for one lease: their due time moves past it. */
export const CLAIM_DELIVERIES_LUA = `
-- KEYS[1] due sorted set
-- ARGV[1] now (ms); ARGV[2] lease (ms); ARGV[3] most to take
-- Returns the claimed delivery keys. One whose sender dies is due again when its lease ends.
local due = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[3]))
for _, key in ipairs(due) do
  redis.call('ZADD', KEYS[1], 'XX', tonumber(ARGV[1]) + tonumber(ARGV[2]), key)
end
return due
`

/** One attempt's outcome: logged with the job, then done with, or due again. */
export const SETTLE_DELIVERY_LUA = `
-- KEYS[1] the delivery hash; KEYS[2] due sorted set; KEYS[3] the job's delivery log (list)
-- KEYS[4] the job hash
-- ARGV[1] 'done' (delivered, or given up) or 'again'; ARGV[2] when it is due again (ms)
-- ARGV[3] the attempt's log entry (JSON); ARGV[4] how many log entries a job keeps
-- ARGV[5] the attempt number
-- The log is kept only while the job exists (a deleted job leaves none behind).
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
`
