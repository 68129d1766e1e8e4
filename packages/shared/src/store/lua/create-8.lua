--- @include "enqueue_entry"
--- @include "move_status"
--[[
  Store a new job and queue it, in one atomic step: create its record and add its stream entry,
  unless its idempotency key already names a job. The job gets the next creation sequence number
  ('seq', from '{prefix}:index:seq') and joins the listing indexes '{prefix}:index:all' and
  '{prefix}:index:queued', scored by it (and its owner's, '{prefix}:index:key:{api_client}:all'
  and ':queued', when the record names one).

  Input:
    KEYS[1] job hash (must not exist)
    KEYS[2] status counts hash (status -> number of jobs)
    KEYS[3] total jobs counter
    KEYS[4] jobs stream
    KEYS[5] entries hash (stream entry id -> job_id)
    KEYS[6] idempotency key: holds the job_id created under it ('' for none)
    KEYS[7] job event log stream
    KEYS[8] settings hash (events_maxlen)

    ARGV[1] job_id
    ARGV[2] seconds the idempotency key is kept
    ARGV[3] index_prefix: '{prefix}:index:' (redisKeys.index(''))
    ARGV[4..] the record, as field, value, field, value, ...

  Output:
    { 'created', entry id } or { 'existing', job_id of the first job with that key }.
    Error VPP_JOB_EXISTS when the job hash exists already.
]]
local idempotency = KEYS[6] ~= '' and KEYS[6] or false
if idempotency then
  local first = redis.call('GET', idempotency)
  if first then return { 'existing', first } end
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.error_reply('VPP_JOB_EXISTS job ' .. ARGV[1] .. ' exists')
end
local pipeline = { counts = KEYS[2], events = KEYS[7], config = KEYS[8], index = ARGV[3] }
local entry = enqueue_entry(KEYS[4], KEYS[5], '', ARGV[1])
local seq = redis.call('INCR', pipeline.index .. 'seq')
-- The record in one write (its own fields last); with a key, remembered on the job, so
-- deleting it can remove the key too.
if idempotency then
  redis.call('HSET', KEYS[1], 'entry_id', entry, 'seq', seq, 'idempotency_key', idempotency, unpack(ARGV, 4))
else
  redis.call('HSET', KEYS[1], 'entry_id', entry, 'seq', seq, unpack(ARGV, 4))
end
move_status(pipeline, KEYS[1], false, 'queued')
redis.call('INCR', KEYS[3])
if idempotency then redis.call('SET', idempotency, ARGV[1], 'EX', tonumber(ARGV[2])) end
return { 'created', entry }
