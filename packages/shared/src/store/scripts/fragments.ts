/**
 * Lua functions shared by the job scripts, each rule written once. A script names the ones it
 * uses with a `--- @include "name"` line (as bullmq's `src/commands/includes/` are included), and
 * `withIncludes` puts their text there before the script is loaded (a fragment's own includes
 * first).
 */
export const FRAGMENTS = {
  /** The caller still owns the job: it is `processing` under the caller's lease. */
  holds_lease: `
-- status, lease: the record's (read already); caller: the caller's lease (fencing token).
local function lease_held(status, lease, caller)
  return status == 'processing' and lease == caller
end
-- job_key: the job hash; lease: the caller's lease.
local function holds_lease(job_key, lease)
  return lease_held(redis.call('HGET', job_key, 'status'), redis.call('HGET', job_key, 'lease'), lease)
end`,

  /**
   * The caller's own outcome write already ran (its reply was lost on the way back): same lease,
   * same stream entry settled. A retried write then answers as the first one did.
   */
  wrote_outcome: `
-- lease, settled: the record's lease and settled_entry (read already); caller: the caller's
-- lease; entry_id: the stream entry it processed.
local function outcome_written(lease, settled, caller, entry_id)
  return lease == caller and settled == entry_id
end
-- job_key: the job hash; lease: the caller's lease; entry_id: the stream entry it processed.
local function wrote_outcome(job_key, lease, entry_id)
  return outcome_written(redis.call('HGET', job_key, 'lease'), redis.call('HGET', job_key, 'settled_entry'), lease,
    entry_id)
end`,

  /** Acknowledge and delete a stream entry and forget its entry -> job mapping. */
  settle_stream_entry: `
-- stream, group: the jobs stream and its consumer group; entries: the entry -> job_id hash;
-- entry_id: the stream entry.
local function settle_stream_entry(stream, group, entries, entry_id)
  redis.call('XACK', stream, group, entry_id)
  redis.call('XDEL', stream, entry_id)
  redis.call('HDEL', entries, entry_id)
end`,

  /** settle_stream_entry, and mark on the job who settled it (the finish script writes that mark with its own fields). */
  settle_entry: `
--- @include "settle_stream_entry"
-- stream, group: the jobs stream and its consumer group; entries: the entry -> job_id hash;
-- entry_id: the stream entry; job_key: the job hash it named ('' for none).
local function settle_entry(stream, group, entries, entry_id, job_key)
  settle_stream_entry(stream, group, entries, entry_id)
  if job_key ~= '' then redis.call('HSET', job_key, 'settled_entry', entry_id) end
end`,

  /**
   * The pipeline's key prefix, from a key every script is given (`{prefix}:stats:status`, as
   * redisKeys names it): the keys named from it (listing indexes, the event log and its settings,
   * a job's delivery log and tus record) are found from one rule.
   */
  key_prefix: `
-- counts_key: the status counts hash ({prefix}:stats:status); returns '{prefix}:'.
local function key_prefix(counts_key)
  return string.sub(counts_key, 1, #counts_key - #'stats:status')
end`,

  /**
   * A job's status changes: the status counters and the listing indexes follow, in the same step.
   * Each index (`{prefix}:index:{status}`) holds job ids scored by their creation sequence number.
   */
  index_prefix: `
--- @include "key_prefix"
-- counts_key: the status counts hash ({prefix}:stats:status); returns '{prefix}:index:'.
local function index_prefix(counts_key)
  return key_prefix(counts_key) .. 'index:'
end`,

  /**
   * The listing indexes of the API key that owns a job (its `api_client`, when keys are on):
   * `{prefix}:index:key:{api_client}:{all|status}`, so a key lists its own jobs from its own sets.
   */
  owner_index_prefix: `
--- @include "index_prefix"
-- counts_key: the status counts hash; client: the job's api_client (false for none). Returns
-- '{prefix}:index:key:{api_client}:', or false for a job no key owns.
local function owner_index(counts_key, client)
  if not client then return false end
  return index_prefix(counts_key) .. 'key:' .. client .. ':'
end
-- The same, for the job hash job_key.
local function owner_index_prefix(counts_key, job_key)
  return owner_index(counts_key, redis.call('HGET', job_key, 'api_client'))
end`,

  /**
   * Append one entry to the job event log (`{prefix}:events`, capped near the `events_maxlen` of
   * `{prefix}:config`, default 100000), in the step that made the change: no event without its
   * change, no change without its event. The entry names the job, its status and owner, and what
   * applies to the type (outputs once completed; error and code once failed or retrying, or
   * queued again by a transcoder that stood down; progress and ETA), read from the record as the
   * calling script has just written it.
   */
  job_event: `
--- @include "key_prefix"
-- The event log's cap, read once a script run (a finish that starts the next job appends two).
local events_maxlen_read = false
local function events_maxlen(prefix)
  if not events_maxlen_read then
    events_maxlen_read = tonumber(redis.call('HGET', prefix .. 'config', 'events_maxlen') or '100000')
  end
  return events_maxlen_read
end
-- The record fields an event of this type and status copies, job_id first.
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
-- Append the event: names from event_fields, values[offset + i] the value of names[i] (false
-- when the record has none). Returns the entry id.
local function append_event(counts_key, type, status, names, values, offset)
  local prefix = key_prefix(counts_key)
  local fields = { 'type', type, 'job_id', values[offset + 1], 'status', status }
  for i = 2, #names do
    local value = values[offset + i]
    if value then fields[#fields + 1] = names[i]; fields[#fields + 1] = value end
  end
  return redis.call('XADD', prefix .. 'events', 'MAXLEN', '~', events_maxlen(prefix), '*', unpack(fields))
end
-- counts_key: the status counts hash ({prefix}:stats:status); job_key: the job hash (already
-- updated); type: 'job.queued', 'job.progress', ...; status: the status it reports. Returns the
-- entry id.
local function job_event(counts_key, job_key, type, status)
  local names = event_fields(type, status)
  return append_event(counts_key, type, status, names, redis.call('HMGET', job_key, unpack(names)), 0)
end`,

  move_status: `
--- @include "index_prefix"
--- @include "owner_index_prefix"
--- @include "job_event"
-- counts_key: the status counts hash; job_key: the job hash (its new fields written); from: the
-- status before (false for a new job, which joins the 'all' indexes too); to: the status after.
-- The owner's indexes follow, and the event log gets 'job.{to}'. The record is read once, for
-- the indexes and the event.
local function move_status(counts_key, job_key, from, to)
  if from then redis.call('HINCRBY', counts_key, from, -1) end
  redis.call('HINCRBY', counts_key, to, 1)
  local names = event_fields('job.' .. to, to)
  local values = redis.call('HMGET', job_key, 'seq', unpack(names))
  local seq, job_id, client = values[1], values[2], values[3]
  if seq then
    local indexes = { index_prefix(counts_key) }
    local owned = owner_index(counts_key, client)
    if owned then indexes[2] = owned end
    for _, index in ipairs(indexes) do
      -- A new job joins the 'all' indexes too.
      if from then redis.call('ZREM', index .. from, job_id) else redis.call('ZADD', index .. 'all', seq, job_id) end
      redis.call('ZADD', index .. to, seq, job_id)
    end
  end
  local event = append_event(counts_key, 'job.' .. to, to, names, values, 1)
  -- Where the job's own event stream starts (GET /jobs/{id}/events replays from here), and its
  -- latest state change (a replayed failure that a dead-letter retry undid does not end it).
  if from then
    redis.call('HSET', job_key, 'last_event', event)
  else
    redis.call('HSET', job_key, 'first_event', event, 'last_event', event)
  end
end`,

  /** Queue a job: a stream entry naming it, the entry -> job mapping, the entry on the record. */
  enqueue_entry: `
-- stream: the jobs stream; entries: the entry -> job_id hash; job_key: the job hash; job_id.
-- Returns the new entry id.
local function enqueue_entry(stream, entries, job_key, job_id)
  local entry = redis.call('XADD', stream, '*', 'job_id', job_id)
  redis.call('HSET', entries, entry, job_id)
  if job_key ~= '' then redis.call('HSET', job_key, 'entry_id', entry) end
  return entry
end`,

  /**
   * Move a job to 'processing' for one consumer, count the attempt, bump its lease. A function,
   * so the finish script can start the next job in the same step.
   */
  start_job: `
-- job_key: the job hash; counts_key: the status counts hash; now: updated_at (ISO 8601);
-- consumer: consumer name; entry_id: the stream entry being processed.
-- Returns {status before, lease, attempts, the job hash as field, value, ...}. lease is 0 when
-- the job was not started: it does not exist (status ''), it is final ('completed'/'failed'), or
-- it is 'processing' under another stream entry (a duplicate). A 'processing' job under the same
-- entry is a takeover (its consumer died or stalled): it starts again with a new lease, so the
-- old owner's late writes are refused.
local function start_job(job_key, counts_key, now, consumer, entry_id)
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
  if status ~= 'processing' then move_status(counts_key, job_key, status, 'processing') end
  return {status, lease, attempts, redis.call('HGETALL', job_key)}
end`,
} as const

export type FragmentName = keyof typeof FRAGMENTS

/**
 * Replace each `--- @include "name"` line of a script with that fragment (once, whatever the
 * number of lines naming it). Throws on an unknown name, so a typo fails at load, not in Redis.
 */
export function withIncludes(source: string, seen = new Set<string>()): string {
  return source.replace(/^--- @include "([\w-]+)"$/gm, (_, name: string) => {
    if (!(name in FRAGMENTS)) throw new Error(`unknown Lua include "${name}"`)
    if (seen.has(name)) return ''
    seen.add(name)
    // A fragment names the fragments it uses the same way: they come first, once.
    return withIncludes(FRAGMENTS[name as FragmentName].trim(), seen)
  })
}
