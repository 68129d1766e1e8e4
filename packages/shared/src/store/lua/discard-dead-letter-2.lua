--[[
  Discard a dead-letter entry and mark the job's kept upload for removal, in one step. The job
  stays 'failed'; with its entry gone it can no longer be retried, so the upload kept for that
  retry goes too: its id joins the set of uploads a transcoder removes (status has no access to
  storage; the transcoders do).

  Input:
    KEYS[1] dead-letter stream
    KEYS[2] set of job ids whose uploads are to be removed

    ARGV[1] dead-letter entry id

  Output:
    The job_id of the entry removed, or false when there was no such entry.
]]
local entry = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #entry == 0 then return false end
local fields = entry[1][2]
local job_id = ''
for i = 1, #fields, 2 do
  if fields[i] == 'job_id' then job_id = fields[i + 1] end
end
redis.call('XDEL', KEYS[1], ARGV[1])
if job_id ~= '' then redis.call('SADD', KEYS[2], job_id) end
return job_id
