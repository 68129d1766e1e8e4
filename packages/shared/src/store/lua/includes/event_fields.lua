--[[
  The record fields an event of this type and status copies, job_id first: the job, its owner
  and callback, and what applies to the type (outputs once completed; error and code once failed
  or retrying, or queued again by a transcoder that stood down; progress and ETA).
]]
local function event_fields(type, status)
  local names = { 'job_id', 'api_client', 'callback_url' }
  if status == 'completed' then names[#names + 1] = 'outputs' end
  -- Queued again by a transcoder that stood down: why (a new job or a dead-letter retry has none).
  if status == 'failed' or status == 'retrying' or status == 'queued' then
    names[#names + 1] = 'error'
    names[#names + 1] = 'error_code'
  end
  if status == 'retrying' then names[#names + 1] = 'next_attempt_at' end
  if type == 'job.progress' then
    names[#names + 1] = 'progress'
    names[#names + 1] = 'eta_seconds'
  end
  return names
end
