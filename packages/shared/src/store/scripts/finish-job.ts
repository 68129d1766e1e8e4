/** Lua: publish a job's end and settle its stream entry in one atomic step. */
export const FINISH_JOB_LUA = `
--- @include "holds_lease"
--- @include "wrote_outcome"
--- @include "settle_stream_entry"
--- @include "index_prefix"
--- @include "move_status"
--- @include "start_job"
-- Record a job as 'completed' (with outputs) or 'failed' (dead-lettered), then XACK and XDEL
-- its stream entry.
-- KEYS[1] job hash
-- KEYS[2] status counts hash (status -> number of jobs)
-- KEYS[3] jobs stream
-- KEYS[4] finished sorted set (job_id scored by finish time, ms)
-- KEYS[5] dead-letter stream
-- KEYS[6] entries hash (stream entry id -> job_id)
-- KEYS[7] retention sorted set (finished job_id scored by finish time, ms; JOB_RETENTION_DAYS)
-- KEYS[8] output retention sorted set (completed job_id scored likewise; OUTPUT_RETENTION_DAYS)
-- ARGV[1] consumer group
-- ARGV[2] stream entry id
-- ARGV[3] new status: 'completed' or 'failed'
-- ARGV[4] updated_at, ISO 8601
-- ARGV[5] now, ms since the epoch
-- ARGV[6] outputs, JSON array ('[]' when failed)
-- ARGV[7] error text ('' when completed)
-- ARGV[8] how long the finished set keeps an entry, ms
-- ARGV[9] the caller's lease; '' to fail a job whatever its owner (its entry was deleted)
-- ARGV[10] skipped profiles, JSON array ('' when failed)
-- ARGV[11] error code ('' when completed)
-- ARGV[12] consumer that takes the next entry in the same step ('' to take none)
-- ARGV[13] prefix of job hash keys (KEYS[1] without the job id), for the next job
-- ARGV[14] most entries the dead-letter stream keeps (0: no limit)
-- The next job's hash is named from ARGV[13] and the entry's job_id, as BullMQ's moveToFinished
-- does: fine on a standalone Redis (or one cluster slot), where every key is on one server.
-- Returns 1 when recorded, or with a consumer in ARGV[12] {1, next entry id, next job_id, the
-- start_job reply for it} when there was an entry to take ({1} when there was none).
-- A call that finds its own earlier write (same outcome, same lease, same entry settled: the
-- reply was lost and the caller sent it again) answers as that write did, with the same next
-- job while it is still this consumer's. Returns 0, changing nothing and acknowledging nothing,
-- when the job is already final otherwise or, with a lease, when it is not 'processing' under
-- that lease: the caller lost the job to another consumer, whose result is the one that counts.
-- The record's fields this needs, read once.
local got = redis.call('HMGET', KEYS[1], 'status', 'lease', 'settled_entry', 'job_id', 'filename', 'attempts')
local status, lease = got[1], got[2]
-- Its own earlier write, found again (its reply was lost).
if ARGV[9] ~= '' and status == ARGV[3] and outcome_written(lease, got[3], ARGV[9], ARGV[2]) then
  if ARGV[12] == '' then return 1 end
  local next_entry = redis.call('HGET', KEYS[1], 'next_entry')
  if not next_entry then return {1} end
  local next_job = redis.call('HGET', KEYS[1], 'next_job')
  if next_job == '' then return {1, next_entry, '', {'', 0, 0, {}}} end
  local next_key = ARGV[13] .. next_job
  local next_status = redis.call('HGET', next_key, 'status')
  local held = next_status == 'processing' and redis.call('HGET', next_key, 'entry_id') == next_entry
  if held and redis.call('HGET', next_key, 'owner') == ARGV[12] then
    return {1, next_entry, next_job, {redis.call('HGET', KEYS[1], 'next_before'),
      tonumber(redis.call('HGET', next_key, 'lease')), tonumber(redis.call('HGET', next_key, 'attempts')),
      redis.call('HGETALL', next_key)}}
  end
  -- Taken over by another consumer since: theirs now.
  if held then return {1} end
  -- Not runnable (as the first reply said, or finished by another consumer since): the caller
  -- settles the entry.
  return {1, next_entry, next_job, {next_status or '', 0, 0, {}}}
end
if not status or status == 'completed' or status == 'failed' or status == 'expired' then return 0 end
if ARGV[9] ~= '' and not lease_held(status, lease, ARGV[9]) then return 0 end
local job_id = got[4]
-- One write of the outcome; settled_entry marks the entry as this call's (settle_entry's mark).
local fields = {'status', ARGV[3], 'updated_at', ARGV[4], 'outputs', ARGV[6], 'settled_entry', ARGV[2]}
local drop = {'owner', 'entry_id', 'next_attempt_at', 'eta_seconds', 'next_entry', 'next_job', 'next_before'}
if ARGV[3] == 'completed' then
  fields[#fields + 1] = 'progress'; fields[#fields + 1] = 100
  fields[#fields + 1] = 'skipped'; fields[#fields + 1] = ARGV[10]
end
if ARGV[7] ~= '' then
  fields[#fields + 1] = 'error'; fields[#fields + 1] = ARGV[7]
  fields[#fields + 1] = 'error_code'; fields[#fields + 1] = ARGV[11]
else
  drop[#drop + 1] = 'error'; drop[#drop + 1] = 'error_code'
end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('HDEL', KEYS[1], unpack(drop))
move_status(KEYS[2], KEYS[1], status, ARGV[3])
redis.call('ZADD', KEYS[4], ARGV[5], job_id)
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', tonumber(ARGV[5]) - tonumber(ARGV[8]))
redis.call('ZADD', KEYS[7], ARGV[5], job_id)
if ARGV[3] == 'completed' then redis.call('ZADD', KEYS[8], ARGV[5], job_id) end
if ARGV[3] == 'failed' then
  local xadd = {KEYS[5]}
  if tonumber(ARGV[14]) > 0 then xadd = {KEYS[5], 'MAXLEN', ARGV[14]} end
  for _, v in ipairs({'*', 'job_id', job_id, 'filename', got[5], 'error', ARGV[7], 'attempts', got[6], 'failed_at',
    ARGV[4]}) do
    xadd[#xadd + 1] = v
  end
  -- Remembered on the job, so deleting it can remove its dead letter too.
  redis.call('HSET', KEYS[1], 'dlq_entry', redis.call('XADD', unpack(xadd)))
end
settle_stream_entry(KEYS[3], ARGV[1], KEYS[6], ARGV[2])
if ARGV[12] == '' then return 1 end
local reply = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[12], 'COUNT', 1, 'STREAMS', KEYS[3], '>')
if not reply then return {1} end
local entry = reply[1][2][1]
local next_job = ''
for i = 1, #entry[2], 2 do
  if entry[2][i] == 'job_id' then next_job = entry[2][i + 1] end
end
-- Remembered, so a retry of this call after a lost reply hands out the same next job.
if next_job == '' then
  redis.call('HSET', KEYS[1], 'next_entry', entry[1], 'next_job', next_job)
  return {1, entry[1], '', {'', 0, 0, {}}}
end
local started = start_job(ARGV[13] .. next_job, KEYS[2], ARGV[4], ARGV[12], entry[1])
redis.call('HSET', KEYS[1], 'next_entry', entry[1], 'next_job', next_job, 'next_before', started[1])
return {1, entry[1], next_job, started}
`
