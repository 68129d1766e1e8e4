--- @include "move_status"
--[[
  Move a job to 'processing' for one consumer, count the attempt, bump its lease. A function, so
  the finish script can start the next job in the same step.
  job_key: the job hash; pipeline: as move_status takes it; now: updated_at (ISO 8601);
  consumer: consumer name; entry_id: the stream entry being processed.
  Returns {status before, lease, attempts, the job hash as field, value, ...}. lease is 0 when
  the job was not started: it does not exist (status ''), it is final ('completed'/'failed'), or
  it is 'processing' under another stream entry (a duplicate). A 'processing' job under the same
  entry is a takeover (its consumer died or stalled): it starts again with a new lease, so the
  old owner's late writes are refused.
]]
local function start_job(job_key, pipeline, now, consumer, entry_id)
  local got = redis.call('HMGET', job_key, 'status', 'entry_id', 'lease', 'attempts', 'next_attempt_at', 'progress',
    'eta_seconds')
  local status = got[1]
  if not status then return {'', 0, 0, {}} end
  if status ~= 'queued' and status ~= 'retrying' and status ~= 'processing' then return {status, 0, 0, {}} end
  if status == 'processing' and got[2] ~= entry_id then
    return {status, 0, 0, {}}
  end
  local lease = (tonumber(got[3]) or 0) + 1
  local attempts = (tonumber(got[4]) or 0) + 1
  redis.call('HSET', job_key, 'status', 'processing', 'updated_at', now, 'owner', consumer, 'entry_id', entry_id,
    'lease', lease, 'attempts', attempts)
  if got[5] or got[6] or got[7] then redis.call('HDEL', job_key, 'next_attempt_at', 'progress', 'eta_seconds') end
  if status ~= 'processing' then move_status(pipeline, job_key, status, 'processing') end
  return {status, lease, attempts, redis.call('HGETALL', job_key)}
end
