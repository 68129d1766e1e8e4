--- @include "owner_index"
--- @include "settle_entry"
--- @include "job_event"
--[[
  Delete a job and every key that names it, in one step; its files go to a transcoder. Cancel it
  if it has not finished (as cancel does), then remove its record, its listing index entries, its
  place in the finished and delayed sets, its dead letter, its idempotency key, its webhook
  delivery log, its chunk hash and what a resumable upload left of it, lower its status count,
  and add its id to the set of jobs whose files (outputs and upload) a transcoder removes (status
  has no access to storage).

  Input:
    KEYS[1] job hash
    KEYS[2] status counts hash (status -> number of jobs)
    KEYS[3] jobs stream
    KEYS[4] delayed sorted set
    KEYS[5] entries hash (stream entry id -> job_id)
    KEYS[6] finished sorted set
    KEYS[7] dead-letter stream
    KEYS[8] set of jobs whose files are to be removed
    KEYS[9] retention sorted set (finished jobs by finish time)
    KEYS[10] output retention sorted set (completed jobs by completion time)
    KEYS[11] the job's webhook delivery log (list)
    KEYS[12] the job's chunk hash
    KEYS[13] the job's resumable (tus) upload record
    KEYS[14] job event log stream
    KEYS[15] settings hash (events_maxlen)

    ARGV[1] consumer group
    ARGV[2] the cancel channel (PUBLISH job_id when it was running)
    ARGV[3] index_prefix: '{prefix}:index:' (redisKeys.index(''))
    ARGV[4] (retention only) ms: delete it only if it finished at or before then

  Output:
    The status it had; '' when there was no such job; 'kept' (retention only) when it was not
    finished at or before ARGV[4].
]]
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return '' end
local job_id = redis.call('HGET', KEYS[1], 'job_id')
-- Retention: only a job still finished (in the retention set) and old enough. Checked here, in
-- the same step, so a dead letter retried since it was picked is not deleted.
if ARGV[4] then
  local finished = redis.call('ZSCORE', KEYS[9], job_id)
  if not finished or tonumber(finished) > tonumber(ARGV[4]) then return 'kept' end
end
local entry = redis.call('HGET', KEYS[1], 'entry_id')
if entry and (status == 'queued' or status == 'retrying' or status == 'processing') then
  settle_entry(KEYS[3], ARGV[1], KEYS[5], entry, '')
end
if status == 'processing' then redis.call('PUBLISH', ARGV[2], job_id) end
redis.call('ZREM', KEYS[4], job_id)
redis.call('ZREM', KEYS[6], job_id)
-- Retention sets.
redis.call('ZREM', KEYS[9], job_id)
redis.call('ZREM', KEYS[10], job_id)
redis.call('HINCRBY', KEYS[2], status, -1)
redis.call('ZREM', ARGV[3] .. 'all', job_id)
redis.call('ZREM', ARGV[3] .. status, job_id)
local owned = owner_index(ARGV[3], redis.call('HGET', KEYS[1], 'api_client'))
if owned then
  redis.call('ZREM', owned .. 'all', job_id)
  redis.call('ZREM', owned .. status, job_id)
end
local dead = redis.call('HGET', KEYS[1], 'dlq_entry')
if dead then redis.call('XDEL', KEYS[7], dead) end
local idempotency = redis.call('HGET', KEYS[1], 'idempotency_key')
if idempotency and redis.call('GET', idempotency) == job_id then redis.call('DEL', idempotency) end
job_event({ events = KEYS[14], config = KEYS[15] }, KEYS[1], 'job.deleted', 'deleted')
redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[11])
redis.call('DEL', KEYS[12])
redis.call('DEL', KEYS[13])
redis.call('SADD', KEYS[8], job_id)
return status
