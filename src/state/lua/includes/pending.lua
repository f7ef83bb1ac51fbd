--[[
  Checks waiting for their grace period: a sorted set per producer, score dueAt, member
  kind|material|day.

  Provides:
    scheduleCheck(pendingKey, kind, material, day, dueAt)
    takeDueChecks(pendingKey, clock) -> { { kind, material, day, dueAt } ... } in firing order, removed from the set
]]
--@include "numbers"

-- Lua compares strings with strcoll, and Redis sets LC_COLLATE from its environment, so '<' could
-- order 'A_MAT' and 'AB' differently from JavaScript. Compare bytes instead.
local function bytesBefore(a, b)
  local shorter = math.min(#a, #b)
  for i = 1, shorter do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

-- comparePending of src/state/memory-store.ts. Sorted set ties fall in member byte order, which
-- puts day 100000 before day 99999, so the order is made here.
local function firesBefore(a, b)
  if a.dueAt ~= b.dueAt then return a.dueAt < b.dueAt end
  if a.kind ~= b.kind then return bytesBefore(a.kind, b.kind) end
  if a.material ~= b.material then return bytesBefore(a.material, b.material) end
  return a.day < b.day
end

local function scheduleCheck(pendingKey, kind, material, day, dueAt)
  -- LT: scheduled again, a check keeps its earliest due time.
  redis.call('ZADD', pendingKey, 'LT', exactNumber(dueAt), kind .. '|' .. material .. '|' .. format('%d', day))
end

local MEMBERS_PER_ZREM = 1000

local function takeDueChecks(pendingKey, clock)
  local found = redis.call('ZRANGEBYSCORE', pendingKey, '-inf', exactNumber(clock), 'WITHSCORES')
  local due = {}
  local members = {}
  for i = 1, #found, 2 do
    local kind, material, day = string.match(found[i], '^([^|]+)|([^|]+)|(-?%d+)$')
    if not kind then error('ree: malformed pending check ' .. found[i]) end
    due[#due + 1] = { kind = kind, material = material, day = tonumber(day), dueAt = tonumber(found[i + 1]) }
    members[#members + 1] = found[i]
  end
  for first = 1, #members, MEMBERS_PER_ZREM do
    redis.call('ZREM', pendingKey, unpack(members, first, math.min(first + MEMBERS_PER_ZREM - 1, #members)))
  end
  if #due > 1 then table.sort(due, firesBefore) end
  return due
end
