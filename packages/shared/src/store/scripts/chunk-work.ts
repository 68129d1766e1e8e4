/**
 * Lua: the work items of a chunked encode (`c00003`, `audio`), kept in the job's chunk hash
 * (`{prefix}:chunkjob:{id}`, fields `{item}:{field}`) and queued on the chunk streams. Each item
 * has the machinery a job has: a stream entry, attempts, a lease (fencing token) handed out at
 * each start, a retry backoff (`chunksDelayed`), and an outcome recorded only by the holder of
 * its lease.
 */

/** Shared: queue an item (a new stream entry), remembering the entry and its stream. */
const QUEUE_ITEM = `
local function queue_item(chunk_key, stream, job_id, item)
  local entry = redis.call('XADD', stream, '*', 'job_id', job_id, 'item', item)
  redis.call('HSET', chunk_key, item .. ':state', 'queued', item .. ':entry', entry, item .. ':stream', stream)
  return entry
end`

/**
 * Plan a job's chunked encode, or pick up the one already planned (a takeover, a retry from the
 * dead-letter queue): every item not done whose entry is gone is queued again, a failed one with
 * its attempts reset. Fenced by the job's lease.
 */
export const PLAN_CHUNKS_LUA = `
--- @include "holds_lease"
${QUEUE_ITEM}
-- KEYS[1] job hash
-- KEYS[2] chunk hash
-- KEYS[3] first-items stream
-- KEYS[4] chunk stream
-- KEYS[5] delayed chunk items (sorted set)
-- ARGV[1] the caller's job lease
-- ARGV[2] job id
-- ARGV[3] the plan (JSON), written when there is none
-- ARGV[4..] the items, in order: 'name first' (first: 1 or 0)
-- Returns {0} when the caller lost the job; else {1 (planned now) or 2 (planned before), queued}.
if not holds_lease(KEYS[1], ARGV[1]) then return {0} end
local planned = redis.call('HEXISTS', KEYS[2], 'plan') == 1
local queued = 0
if not planned then
  local names = {}
  for i = 4, #ARGV do
    local name, first = string.match(ARGV[i], '^(%S+) (%d)$')
    names[#names + 1] = name
    redis.call('HSET', KEYS[2], name .. ':attempts', 0, name .. ':lease', 0, name .. ':first', first)
    queue_item(KEYS[2], first == '1' and KEYS[3] or KEYS[4], ARGV[2], name)
    queued = queued + 1
  end
  redis.call('HSET', KEYS[2], 'plan', ARGV[3], 'items', table.concat(names, ','))
  return {1, queued}
end
for name in string.gmatch(redis.call('HGET', KEYS[2], 'items') or '', '[^,]+') do
  local state = redis.call('HGET', KEYS[2], name .. ':state')
  if state ~= 'done' then
    local waiting = redis.call('ZSCORE', KEYS[5], ARGV[2] .. ' ' .. name)
    local entry = redis.call('HGET', KEYS[2], name .. ':entry')
    local stream = redis.call('HGET', KEYS[2], name .. ':stream')
    local live = entry and stream and #redis.call('XRANGE', stream, entry, entry) > 0
    if state == 'failed' or (not waiting and not live) then
      if state == 'failed' then redis.call('HSET', KEYS[2], name .. ':attempts', 0) end
      redis.call('HDEL', KEYS[2], name .. ':error', name .. ':code')
      local first = redis.call('HGET', KEYS[2], name .. ':first') == '1'
      queue_item(KEYS[2], first and KEYS[3] or KEYS[4], ARGV[2], name)
      queued = queued + 1
    end
  end
end
return {2, queued}
`

/** Take a chunk item for processing: a new lease, its attempt counted. */
export const START_CHUNK_LUA = `
--- @include "settle_stream_entry"
-- KEYS[1] job hash
-- KEYS[2] chunk hash
-- KEYS[3] the stream the entry came from
-- KEYS[4] entry -> job hash (unused by chunk entries; settle_stream_entry clears it)
-- ARGV[1] consumer group
-- ARGV[2] item
-- ARGV[3] stream entry id
-- ARGV[4] consumer name
-- Returns {'started', lease, attempts, plan}, or {'gone'} (the job is not processing: canceled,
-- deleted, failed) or {'stale'} (the item is done, or queued again under another entry); a
-- gone or stale entry is settled.
local item = ARGV[2]
if redis.call('HGET', KEYS[1], 'status') ~= 'processing' or redis.call('HEXISTS', KEYS[2], 'plan') == 0 then
  settle_stream_entry(KEYS[3], ARGV[1], KEYS[4], ARGV[3])
  return {'gone'}
end
local state = redis.call('HGET', KEYS[2], item .. ':state')
if state == 'done' or state == 'failed' or redis.call('HGET', KEYS[2], item .. ':entry') ~= ARGV[3] then
  settle_stream_entry(KEYS[3], ARGV[1], KEYS[4], ARGV[3])
  return {'stale'}
end
local lease = redis.call('HINCRBY', KEYS[2], item .. ':lease', 1)
local attempts = redis.call('HINCRBY', KEYS[2], item .. ':attempts', 1)
redis.call('HSET', KEYS[2], item .. ':state', 'running', item .. ':holder', ARGV[4], item .. ':at', 0)
redis.call('HDEL', KEYS[2], item .. ':partial')
return {'started', lease, attempts, redis.call('HGET', KEYS[2], 'plan')}
`

/** Shared: the caller holds a running item's lease, and its job is still processing. */
const HOLDS_CHUNK = `
local function holds_chunk(job_key, chunk_key, item, lease)
  return redis.call('HGET', job_key, 'status') == 'processing'
    and redis.call('HGET', chunk_key, item .. ':state') == 'running'
    and redis.call('HGET', chunk_key, item .. ':lease') == lease
end`

/** Keep a running item's pending entry fresh, and record how far it got (seconds encoded). */
export const CHUNK_HEARTBEAT_LUA = `
${HOLDS_CHUNK}
-- KEYS[1] job hash
-- KEYS[2] chunk hash
-- KEYS[3] the item's stream
-- ARGV[1] consumer group
-- ARGV[2] consumer name
-- ARGV[3] item
-- ARGV[4] the caller's lease
-- ARGV[5] stream entry id
-- ARGV[6] seconds encoded so far ('' to leave as it is)
-- ARGV[7] what it has published so far (JSON; '' to leave as it is)
-- Returns 1; 0 when the caller no longer holds the item (it should stop).
if not holds_chunk(KEYS[1], KEYS[2], ARGV[3], ARGV[4]) then return 0 end
if ARGV[5] ~= '' then redis.call('XCLAIM', KEYS[3], ARGV[1], ARGV[2], 0, ARGV[5], 'JUSTID') end
if ARGV[6] ~= '' then redis.call('HSET', KEYS[2], ARGV[3] .. ':at', ARGV[6]) end
if ARGV[7] ~= '' then redis.call('HSET', KEYS[2], ARGV[3] .. ':partial', ARGV[7]) end
return 1
`

/**
 * A chunk item's outcome, only for the holder of its lease: `done` with its result, `retry` (its
 * entry settled, due again at a time), or `failed` (out of attempts, or a permanent error: the
 * job's coordinator fails the job). Safe to send again after a lost reply.
 */
export const FINISH_CHUNK_LUA = `
--- @include "settle_stream_entry"
${HOLDS_CHUNK}
-- KEYS[1] job hash
-- KEYS[2] chunk hash
-- KEYS[3] the item's stream
-- KEYS[4] delayed chunk items
-- KEYS[5] entry -> job hash
-- ARGV[1] consumer group
-- ARGV[2] item
-- ARGV[3] the caller's lease
-- ARGV[4] stream entry id
-- ARGV[5] outcome: done, retry or failed
-- ARGV[6] the result (JSON, done) or the error (retry, failed)
-- ARGV[7] error code ('' for done)
-- ARGV[8] due (ms), for retry
-- ARGV[9] job id
-- ARGV[10] 1: the attempt is not counted (handed back by a sick transcoder)
-- Returns 1 when recorded (or recorded already by this call); 0 when the caller lost the item.
local item = ARGV[2]
if redis.call('HGET', KEYS[2], item .. ':settled') == ARGV[4] .. ' ' .. ARGV[3] then return 1 end
if not holds_chunk(KEYS[1], KEYS[2], item, ARGV[3]) then return 0 end
settle_stream_entry(KEYS[3], ARGV[1], KEYS[5], ARGV[4])
redis.call('HSET', KEYS[2], item .. ':settled', ARGV[4] .. ' ' .. ARGV[3])
if ARGV[10] == '1' then redis.call('HINCRBY', KEYS[2], item .. ':attempts', -1) end
if ARGV[5] == 'done' then
  redis.call('HSET', KEYS[2], item .. ':state', 'done', item .. ':result', ARGV[6])
elseif ARGV[5] == 'retry' then
  redis.call('HSET', KEYS[2], item .. ':state', 'retrying', item .. ':error', ARGV[6], item .. ':code', ARGV[7])
  redis.call('ZADD', KEYS[4], ARGV[8], ARGV[9] .. ' ' .. item)
else
  redis.call('HSET', KEYS[2], item .. ':state', 'failed', item .. ':error', ARGV[6], item .. ':code', ARGV[7])
end
return 1
`

/** Queue again the chunk items whose retry is due (of jobs still processing). */
export const PROMOTE_CHUNKS_LUA = `
--- @include "key_prefix"
${QUEUE_ITEM}
-- KEYS[1] delayed chunk items
-- KEYS[2] first-items stream
-- KEYS[3] chunk stream
-- KEYS[4] status counts hash (names the prefix of the job and chunk hashes)
-- ARGV[1] now (ms)
-- ARGV[2] most items to queue
-- Returns how many were queued.
local prefix = key_prefix(KEYS[4])
local due = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[2]))
local queued = 0
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[1], member)
  local job_id, item = string.match(member, '^(%S+) (%S+)$')
  local chunk_key = prefix .. 'chunkjob:' .. job_id
  if job_id and redis.call('HGET', prefix .. 'job:' .. job_id, 'status') == 'processing'
    and redis.call('HGET', chunk_key, item .. ':state') == 'retrying' then
    local first = redis.call('HGET', chunk_key, item .. ':first') == '1'
    queue_item(chunk_key, first and KEYS[2] or KEYS[3], job_id, item)
    queued = queued + 1
  end
end
return queued
`

/**
 * The job's stream is playable (the first chunk of every HLS rung is published): `playable_at`
 * set once, with a `job.playable` event. Fenced by the job's lease.
 */
export const PLAYABLE_LUA = `
--- @include "holds_lease"
--- @include "job_event"
-- KEYS[1] job hash
-- KEYS[2] status counts hash (names the event log's prefix)
-- ARGV[1] the caller's job lease
-- ARGV[2] now, ISO 8601
-- Returns 1 when recorded now; 0 when it was already, or the caller lost the job.
if not holds_lease(KEYS[1], ARGV[1]) then return 0 end
if redis.call('HEXISTS', KEYS[1], 'playable_at') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'playable_at', ARGV[2])
job_event(KEYS[2], KEYS[1], 'job.playable', 'processing')
return 1
`
