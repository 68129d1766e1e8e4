/** Lua: take a job for processing and hand out a new lease (fencing token). */
export const START_JOB_LUA = `
--- @include "index_prefix"
--- @include "move_status"
--- @include "start_job"
-- KEYS[1] job hash
-- KEYS[2] status counts hash (status -> number of jobs)
-- ARGV[1] updated_at, ISO 8601
-- ARGV[2] consumer name
-- ARGV[3] stream entry id being processed
return start_job(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3])
`
