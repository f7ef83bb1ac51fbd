--[[
  Writes a producer's changed state fields, only while the caller still owns the producer: an
  instance that lost it (a long pause, a network split) and comes back with its old epoch is
  refused, so it cannot overwrite the new owner's state. Fields are whole values, never
  increments, so a save sent twice leaves the same state.

  Input:
    KEYS[1] state   hash     the producer's engine state: field -> text
    KEYS[2] epoch   string   the epoch of the producer's current owner
    Both carry the producer's hash tag.

    ARGV[1]    the caller's epoch
    ARGV[2]    n, the number of fields to set
    ARGV[3..]  n pairs field, text to set, then the fields to delete (a batch changes a few fields
               per producer, far below Lua's limit of ~8000 values to unpack)

  Returns:
    {1}              written
    {0, ownerEpoch}  refused: another owner has claimed the producer since; nothing written
]]
--@include "ownership"

local owner = claimOwnership(KEYS[2], ARGV[1])
if owner then
  return {0, owner}
end
local setCount = tonumber(ARGV[2])
local lastSet = 2 + 2 * setCount
if setCount > 0 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 3, lastSet))
end
if #ARGV > lastSet then
  redis.call('HDEL', KEYS[1], unpack(ARGV, lastSet + 1, #ARGV))
end
return {1}
