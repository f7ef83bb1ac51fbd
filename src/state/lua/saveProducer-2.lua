--[[
  Writes a producer's changed state fields, only while the caller still owns the producer: an
  instance that lost it (a long pause, a network split) and comes back with its old epoch is
  refused, so it cannot overwrite the new owner's state. Fields are whole values, never
  increments, so a save sent twice leaves the same state.

  A field whose new text shares its start and end with the text stored can be sent as an edit:
  the bytes to keep from the start and from the end of the stored text, and the new middle
  (src/state/engine/redis-durability.ts). An edit applies only to a stored text of the length the
  caller expects; otherwise nothing is written and the caller sends the whole texts again.

  Input:
    KEYS[1] state   hash     the producer's engine state: field -> text
    KEYS[2] epoch   string   the epoch of the producer's current owner
    Both carry the producer's hash tag.

    ARGV[1]    the caller's epoch
    ARGV[2]    n, the number of fields to set whole
    ARGV[3]    e, the number of fields to edit
    ARGV[4..]  n pairs field, text; then e groups of five: field, the stored text's length in
               bytes, bytes kept from its start, bytes kept from its end, the new middle; then the
               fields to delete (a batch changes a few fields per producer, far below Lua's limit
               of ~8000 values to unpack)

  Returns:
    {1}              written
    {0, ownerEpoch}  refused: another owner has claimed the producer since; nothing written
    {2, field}       that field's stored text is not the length the edit expects; nothing written
]]
--@include "ownership"

local owner = claimOwnership(KEYS[2], ARGV[1])
if owner then
  return {0, owner}
end
local setCount = tonumber(ARGV[2])
local editCount = tonumber(ARGV[3])
local lastSet = 3 + 2 * setCount
local lastEdit = lastSet + 5 * editCount
local values = {}
for i = 4, lastSet do
  values[#values + 1] = ARGV[i]
end
for i = lastSet + 1, lastEdit, 5 do
  local field = ARGV[i]
  local stored = redis.call('HGET', KEYS[1], field)
  if not stored or #stored ~= tonumber(ARGV[i + 1]) then
    return {2, field}
  end
  local head = tonumber(ARGV[i + 2])
  local tail = tonumber(ARGV[i + 3])
  values[#values + 1] = field
  values[#values + 1] = string.sub(stored, 1, head) .. ARGV[i + 4] .. string.sub(stored, #stored - tail + 1)
end
if #values > 0 then
  redis.call('HSET', KEYS[1], unpack(values))
end
if #ARGV > lastEdit then
  redis.call('HDEL', KEYS[1], unpack(ARGV, lastEdit + 1, #ARGV))
end
return {1}
