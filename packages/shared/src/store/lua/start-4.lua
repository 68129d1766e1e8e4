--- @include "start_job"
--[[
  Take a job for processing and hand out a new lease (fencing token): see start_job.

  Input:
    KEYS[1] job hash
    KEYS[2] status counts hash (status -> number of jobs)
    KEYS[3] job event log stream
    KEYS[4] settings hash (events_maxlen)

    ARGV[1] updated_at, ISO 8601
    ARGV[2] consumer name
    ARGV[3] stream entry id being processed
    ARGV[4] index_prefix: '{prefix}:index:' (redisKeys.index(''))

  Output:
    start_job's reply: {status before, lease (0: not started), attempts, the job hash as field,
    value, ...}.
]]
local pipeline = { counts = KEYS[2], events = KEYS[3], config = KEYS[4], index = ARGV[4] }
return start_job(KEYS[1], pipeline, ARGV[1], ARGV[2], ARGV[3])
