--[[
  Claims a producer for the caller's ownership epoch and returns its stored state, unless a newer
  owner has claimed it already. The engine calls this when it first touches a producer
  (src/state/engine/redis-durability.ts), for a whole batch's producers in one pipeline.

  Input:
    KEYS[1] state   hash     the producer's engine state: field -> text (see engine/producer-state.ts)
    KEYS[2] epoch   string   the epoch of the producer's current owner
    Both carry the producer's hash tag.

    ARGV[1] the caller's epoch (a positive integer from the epoch counter)

  Returns:
    {1, {field1, text1, field2, text2, ...}}   claimed (the epoch key now holds ARGV[1]); the state, empty for a new producer
    {0, ownerEpoch}                            refused: a newer owner holds the producer
]]
--@include "ownership"

local owner = claimOwnership(KEYS[2], ARGV[1])
if owner then
  return {0, owner}
end
return {1, redis.call('HGETALL', KEYS[1])}
