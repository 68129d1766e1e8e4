--- @include "holds_lease"
--- @include "wrote_outcome"
--- @include "settle_stream_entry"
--- @include "start_job"
--[[
  Publish a job's end and settle its stream entry in one atomic step: record it as 'completed'
  (with outputs) or 'failed' (dead-lettered), then XACK and XDEL its stream entry; and, when
  asked, take the next entry for a consumer and start its job (as BullMQ's moveToFinished does).

  Input:
    KEYS[1] job hash
    KEYS[2] status counts hash (status -> number of jobs)
    KEYS[3] jobs stream
    KEYS[4] finished sorted set (job_id scored by finish time, ms)
    KEYS[5] dead-letter stream
    KEYS[6] entries hash (stream entry id -> job_id)
    KEYS[7] retention sorted set (finished job_id scored by finish time, ms; JOB_RETENTION_DAYS)
    KEYS[8] output retention sorted set (completed job_id scored likewise; OUTPUT_RETENTION_DAYS)
    KEYS[9] job event log stream
    KEYS[10] settings hash (events_maxlen)

    ARGV[1] JSON object (FinishArgs in job-outcomes.ts):
      group           consumer group
      entry_id        stream entry id
      status          new status: 'completed' or 'failed'
      updated_at      ISO 8601
      now_ms          now, ms since the epoch
      outputs         outputs, JSON array text ('[]' when failed)
      error           error text ('' when completed)
      error_code      error code ('' when completed)
      skipped         skipped profiles, JSON array text ('' when failed)
      original        'kept' when the upload stays (KEEP_ORIGINALS): the record's `original`;
                      '' otherwise (a completed job's `original` is then dropped)
      lease           the caller's lease; '' to fail a job whatever its owner (its entry was deleted)
      finished_keep_ms how long the finished set keeps an entry, ms
      dlq_maxlen      most entries the dead-letter stream keeps (0: no limit)
      take_next_for   consumer that takes the next entry in the same step ('' to take none)
      job_prefix      prefix of job hash keys (redisKeys.job('')): the next job's hash is named
                      from it and the entry's job_id, fine on a standalone Redis (or one cluster
                      slot), where every key is on one server
      index_prefix    '{prefix}:index:' (redisKeys.index(''))

  Output:
    1 when recorded, or with take_next_for {1, next entry id, next job_id, the start_job reply
    for it} when there was an entry to take ({1} when there was none).
    A call that finds its own earlier write (same outcome, same lease, same entry settled: the
    reply was lost and the caller sent it again) answers as that write did, with the same next
    job while it is still this consumer's. 0, changing nothing and acknowledging nothing, when
    the job is already final otherwise or, with a lease, when it is not 'processing' under that
    lease: the caller lost the job to another consumer, whose result is the one that counts.
]]
local a = cjson.decode(ARGV[1])
local pipeline = { counts = KEYS[2], events = KEYS[9], config = KEYS[10], index = a.index_prefix }

-- Its own earlier write, found again (its reply was lost): the same answer.
local function answer_again()
  if a.take_next_for == '' then return 1 end
  local next_entry = redis.call('HGET', KEYS[1], 'next_entry')
  if not next_entry then return {1} end
  local next_job = redis.call('HGET', KEYS[1], 'next_job')
  if next_job == '' then return {1, next_entry, '', {'', 0, 0, {}}} end
  local next_key = a.job_prefix .. next_job
  local next_status = redis.call('HGET', next_key, 'status')
  local held = next_status == 'processing' and redis.call('HGET', next_key, 'entry_id') == next_entry
  if held and redis.call('HGET', next_key, 'owner') == a.take_next_for then
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

-- The outcome, in one write of the record; settled_entry marks the entry as this call's
-- (settle_entry's mark).
local function record(status, job_id, filename, attempts)
  local fields = {'status', a.status, 'updated_at', a.updated_at, 'outputs', a.outputs, 'settled_entry', a.entry_id}
  local drop = {'owner', 'entry_id', 'next_attempt_at', 'eta_seconds', 'next_entry', 'next_job', 'next_before'}
  if a.status == 'completed' then
    fields[#fields + 1] = 'progress'; fields[#fields + 1] = 100
    fields[#fields + 1] = 'skipped'; fields[#fields + 1] = a.skipped
    if a.original ~= '' then
      fields[#fields + 1] = 'original'; fields[#fields + 1] = a.original
    else
      drop[#drop + 1] = 'original'
    end
  end
  if a.error ~= '' then
    fields[#fields + 1] = 'error'; fields[#fields + 1] = a.error
    fields[#fields + 1] = 'error_code'; fields[#fields + 1] = a.error_code
  else
    drop[#drop + 1] = 'error'; drop[#drop + 1] = 'error_code'
  end
  redis.call('HSET', KEYS[1], unpack(fields))
  redis.call('HDEL', KEYS[1], unpack(drop))
  move_status(pipeline, KEYS[1], status, a.status)
  redis.call('ZADD', KEYS[4], a.now_ms, job_id)
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', a.now_ms - a.finished_keep_ms)
  redis.call('ZADD', KEYS[7], a.now_ms, job_id)
  if a.status == 'completed' then redis.call('ZADD', KEYS[8], a.now_ms, job_id) end
  if a.status == 'failed' then
    local xadd = {KEYS[5]}
    if a.dlq_maxlen > 0 then xadd = {KEYS[5], 'MAXLEN', a.dlq_maxlen} end
    for _, v in ipairs({'*', 'job_id', job_id, 'filename', filename, 'error', a.error, 'attempts', attempts,
      'failed_at', a.updated_at}) do
      xadd[#xadd + 1] = v
    end
    -- Remembered on the job, so deleting it can remove its dead letter too.
    redis.call('HSET', KEYS[1], 'dlq_entry', redis.call('XADD', unpack(xadd)))
  end
  settle_stream_entry(KEYS[3], a.group, KEYS[6], a.entry_id)
end

-- The next entry for take_next_for, its job started; remembered, so a retry of this call after a
-- lost reply hands out the same next job.
local function take_next()
  local reply = redis.call('XREADGROUP', 'GROUP', a.group, a.take_next_for, 'COUNT', 1, 'STREAMS', KEYS[3], '>')
  if not reply then return {1} end
  local entry = reply[1][2][1]
  local next_job = ''
  for i = 1, #entry[2], 2 do
    if entry[2][i] == 'job_id' then next_job = entry[2][i + 1] end
  end
  if next_job == '' then
    redis.call('HSET', KEYS[1], 'next_entry', entry[1], 'next_job', next_job)
    return {1, entry[1], '', {'', 0, 0, {}}}
  end
  local started = start_job(a.job_prefix .. next_job, pipeline, a.updated_at, a.take_next_for, entry[1])
  redis.call('HSET', KEYS[1], 'next_entry', entry[1], 'next_job', next_job, 'next_before', started[1])
  return {1, entry[1], next_job, started}
end

-- The record's fields this needs, read once.
local got = redis.call('HMGET', KEYS[1], 'status', 'lease', 'settled_entry', 'job_id', 'filename', 'attempts')
local status, lease = got[1], got[2]
if a.lease ~= '' and status == a.status and outcome_written(lease, got[3], a.lease, a.entry_id) then
  return answer_again()
end
if not status or status == 'completed' or status == 'failed' or status == 'expired' then return 0 end
if a.lease ~= '' and not lease_held(status, lease, a.lease) then return 0 end
record(status, got[4], got[5], got[6])
if a.take_next_for == '' then return 1 end
return take_next()
