--[[
  Add a caption track to a completed job's `captions` (a JSON array), or remove one, in one step
  with the checks that must hold at that moment: the job exists and is completed, at most
  ARGV[3] tracks, no two with the same label (their NAME in the HLS master).

  Input:
    KEYS[1] job hash

    ARGV[1] 'add' or 'remove'
    ARGV[2] add: the track as JSON ({caption_id, language, label, created_at}); remove: its caption_id
    ARGV[3] add: the most tracks a job may have
    ARGV[4] updated_at, ISO 8601

  Output:
    { 'ok', tracks as JSON ('[]' for none) } once changed; otherwise { code, detail } with code
    'missing' (no such job), 'status' (detail: the job's status), 'full', 'duplicate' (the label
    is taken) or 'absent' (no such track).
]]
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return { 'missing', '' } end
if status ~= 'completed' then return { 'status', status } end
local stored = redis.call('HGET', KEYS[1], 'captions')
local tracks = {}
if stored and stored ~= '' then tracks = cjson.decode(stored) end

local kept = {}
if ARGV[1] == 'add' then
  local track = cjson.decode(ARGV[2])
  for _, t in ipairs(tracks) do
    if t.label == track.label then return { 'duplicate', t.caption_id } end
    kept[#kept + 1] = t
  end
  if #tracks >= tonumber(ARGV[3]) then return { 'full', tostring(#tracks) } end
  kept[#kept + 1] = track
else
  local found = false
  for _, t in ipairs(tracks) do
    if t.caption_id == ARGV[2] then found = true else kept[#kept + 1] = t end
  end
  if not found then return { 'absent', ARGV[2] } end
end

redis.call('HSET', KEYS[1], 'updated_at', ARGV[4])
if #kept == 0 then
  redis.call('HDEL', KEYS[1], 'captions')
  return { 'ok', '[]' }
end
local json = cjson.encode(kept)
redis.call('HSET', KEYS[1], 'captions', json)
return { 'ok', json }
