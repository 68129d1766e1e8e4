/**
 * Lua: take a job for processing and hand out a new lease (fencing token). A function, so the
 * finish script can start the next job in the same step.
 */
export const START_JOB_FUNCTION = `
-- Move a job to 'processing' for one consumer, count the attempt, bump its lease.
-- job_key: the job hash; counts_key: the status counts hash; now: updated_at (ISO 8601);
-- consumer: consumer name; entry_id: the stream entry being processed.
-- Returns {status before, lease, attempts, the job hash as field, value, ...}. lease is 0 when
-- the job was not started: it does not exist (status ''), it is final ('completed'/'failed'), or
-- it is 'processing' under another stream entry (a duplicate). A 'processing' job under the same
-- entry is a takeover (its consumer died or stalled): it starts again with a new lease, so the
-- old owner's late writes are refused.
local function start_job(job_key, counts_key, now, consumer, entry_id)
  local status = redis.call('HGET', job_key, 'status')
  if not status then return {'', 0, 0, {}} end
  if status ~= 'queued' and status ~= 'retrying' and status ~= 'processing' then return {status, 0, 0, {}} end
  if status == 'processing' and redis.call('HGET', job_key, 'entry_id') ~= entry_id then
    return {status, 0, 0, {}}
  end
  local lease = redis.call('HINCRBY', job_key, 'lease', 1)
  local attempts = redis.call('HINCRBY', job_key, 'attempts', 1)
  redis.call('HSET', job_key, 'status', 'processing', 'updated_at', now, 'owner', consumer, 'entry_id', entry_id)
  redis.call('HDEL', job_key, 'next_attempt_at', 'progress', 'eta_seconds')
  if status ~= 'processing' then
    redis.call('HINCRBY', counts_key, status, -1)
    redis.call('HINCRBY', counts_key, 'processing', 1)
  end
  return {status, lease, attempts, redis.call('HGETALL', job_key)}
end
`

export const START_JOB_LUA = `${START_JOB_FUNCTION}
-- KEYS[1] job hash
-- KEYS[2] status counts hash (status -> number of jobs)
-- ARGV[1] updated_at, ISO 8601
-- ARGV[2] consumer name
-- ARGV[3] stream entry id being processed
return start_job(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3])
`
