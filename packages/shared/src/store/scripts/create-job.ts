/** Lua: store a new job and queue it, in one atomic step. */
export const CREATE_JOB_LUA = `
--- @include "index_prefix"
--- @include "enqueue_entry"
--- @include "move_status"
-- Create a job record and add its stream entry, unless its idempotency key already names a job.
-- KEYS[1] job hash (must not exist)
-- KEYS[2] status counts hash (status -> number of jobs)
-- KEYS[3] total jobs counter
-- KEYS[4] jobs stream
-- KEYS[5] entries hash (stream entry id -> job_id)
-- KEYS[6] idempotency key (optional): holds the job_id created under it
-- The job gets the next creation sequence number ('seq', from {prefix}:index:seq) and joins the
-- listing indexes {prefix}:index:all and {prefix}:index:queued, scored by it (and its owner's,
-- {prefix}:index:key:{api_client}:all and :queued, when the record names one).
-- ARGV[1] job_id
-- ARGV[2] seconds the idempotency key is kept
-- ARGV[3..] the record, as field, value, field, value, ...
-- Returns { 'created', entry id } or { 'existing', job_id of the first job with that key }.
if KEYS[6] then
  local first = redis.call('GET', KEYS[6])
  if first then return { 'existing', first } end
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.error_reply('ERR job ' .. ARGV[1] .. ' exists')
end
local entry = enqueue_entry(KEYS[4], KEYS[5], '', ARGV[1])
local index = index_prefix(KEYS[2])
local seq = redis.call('INCR', index .. 'seq')
-- The record in one write (its own fields last); with a key, remembered on the job, so
-- deleting it can remove the key too.
if KEYS[6] then
  redis.call('HSET', KEYS[1], 'entry_id', entry, 'seq', seq, 'idempotency_key', KEYS[6], unpack(ARGV, 3))
else
  redis.call('HSET', KEYS[1], 'entry_id', entry, 'seq', seq, unpack(ARGV, 3))
end
move_status(KEYS[2], KEYS[1], false, 'queued')
redis.call('INCR', KEYS[3])
if KEYS[6] then redis.call('SET', KEYS[6], ARGV[1], 'EX', tonumber(ARGV[2])) end
return { 'created', entry }
`
