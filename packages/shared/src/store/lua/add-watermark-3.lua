--[[
  Record a stored watermark image when its owner has fewer than ARGV[2]: the count, the record,
  the owner's set of ids and (ARGV[3] = '1') the owner's default in one step, so two parallel
  adds at the cap cannot both pass.

  Input:
    KEYS[1] the owner's set of image ids
    KEYS[2] the image's record (hash)
    KEYS[3] the owner's default (string)

    ARGV[1] the image's id
    ARGV[2] the most images an owner may keep
    ARGV[3] '1': make it the owner's default
    ARGV[4] owner, ARGV[5] width, ARGV[6] height, ARGV[7] size_bytes, ARGV[8] created_at

  Output:
    { 'ok', count } once recorded; { 'full', count } when the owner has ARGV[2] already.
]]
local count = redis.call('SCARD', KEYS[1])
if count >= tonumber(ARGV[2]) then return { 'full', tostring(count) } end
redis.call('HSET', KEYS[2], 'owner', ARGV[4], 'width', ARGV[5], 'height', ARGV[6],
  'size_bytes', ARGV[7], 'created_at', ARGV[8])
redis.call('SADD', KEYS[1], ARGV[1])
if ARGV[3] == '1' then redis.call('SET', KEYS[3], ARGV[1]) end
return { 'ok', tostring(count + 1) }
