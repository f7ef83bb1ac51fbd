--[[
  Ownership epochs of the state engine (src/state/engine/redis-durability.ts): each producer's
  epoch key holds the epoch of the owner that last claimed it; a caller with an older epoch has
  lost the producer.

  Provides:
    claimOwnership(epochKey, mine)  nil after raising the key to `mine` when it was lower (the
                                    caller owns the producer), else the newer owner's epoch
]]

local function claimOwnership(epochKey, mine)
  local owner = tonumber(redis.call('GET', epochKey) or '0')
  if owner > tonumber(mine) then
    return owner
  end
  if owner < tonumber(mine) then
    redis.call('SET', epochKey, mine)
  end
  return nil
end
