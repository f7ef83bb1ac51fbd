--[[
  Records one export price and returns the prices of the same producer and material that come
  before it. The Redis twin of observePrices in src/state/memory-reference.ts.

  Input:
    KEYS[1] prices   zset   score occurredAt, member "<reportId> <usdPerKg>"; equal scores order
                            by member, so by reportId (a space sorts before any id character)
    ARGV[1] member
    ARGV[2] occurredAt
    ARGV[3] how many earlier prices to return at most (PRICE_HISTORY_KEPT of src/state/store.ts)

  Returns: the earlier members, oldest first. A member already present (a redelivery) is not
  added again, so the answer is the same. The set is trimmed to ARGV[3] + 1 members, oldest out.
]]
local keep = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1])
local rank = redis.call('ZRANK', KEYS[1], ARGV[1])
local earlier = {}
if rank > 0 then
  earlier = redis.call('ZRANGE', KEYS[1], math.max(0, rank - keep), rank - 1)
end
local size = redis.call('ZCARD', KEYS[1])
if size > keep + 1 then
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, size - keep - 2)
end
return earlier
