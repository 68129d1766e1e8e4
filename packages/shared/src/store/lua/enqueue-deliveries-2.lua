--[[
  Turn one event into its webhook deliveries and acknowledge the event, in one step (so never
  twice). Deliveries are kept in Redis so each survives the death of the process sending it
  (and, with the append-only file, a Redis restart): a delivery is a hash (its target, body,
  webhook-id, attempt) and a member of the due set, scored by when it is next sent. Their number
  varies, so their keys are built from an explicit prefix (redisKeys.webhook('') .. id).

  Input:
    KEYS[1] due sorted set (delivery key -> when it is due, ms)
    KEYS[2] the event log stream

    ARGV[1] the deliveries' consumer group
    ARGV[2] the event's entry id
    ARGV[3] due (ms)
    ARGV[4] job_id
    ARGV[5] event type
    ARGV[6] the body (JSON)
    ARGV[7] delivery_prefix: prefix of delivery hash keys (redisKeys.webhook(''))
    ARGV[8..] for each target, four values: delivery id (its key is delivery_prefix .. id),
      target URL, webhook-id, target kind ('callback': the job's callback_url, 'operator': one
      of WEBHOOK_URLS)

  Output:
    How many deliveries were made (a replay of the same event makes none).
]]
local made = 0
for i = 8, #ARGV, 4 do
  local key = ARGV[7] .. ARGV[i]
  if redis.call('EXISTS', key) == 0 then
    redis.call('HSET', key, 'url', ARGV[i + 1], 'webhook_id', ARGV[i + 2], 'target', ARGV[i + 3],
      'event_id', ARGV[2], 'job_id', ARGV[4], 'type', ARGV[5], 'body', ARGV[6], 'attempt', 0)
    redis.call('ZADD', KEYS[1], 'NX', ARGV[3], key)
    made = made + 1
  end
end
redis.call('XACK', KEYS[2], ARGV[1], ARGV[2])
return made
