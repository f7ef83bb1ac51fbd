--[[
  A producer's material books in Redis: the layout, and the writes that mirror addFlow and the
  declaration and outflow bookkeeping of the in-memory store. Materials live in fields and index
  members rather than in keys of their own, because the checks a report fires can concern any
  material, and a script may only touch keys it was given.

  book hash (one per producer):
    f|<material>|<day>|<kind>   kg of that day's flows of that kind (exactNumber text)
    dk|<material>|<day>         declared stock on hand at the end of the day
    dr|<material>|<day>         reportId of that declaration
    o|<material>|<day>          JSON array of the day's outflow reportIds, at most maxIds
  days sorted set (one per producer, every score 0, so members are in byte order):
    f|<material>|<day10>        the material has flows on that day
    d|<material>|<day10>        the material has a declaration on that day
  day10 is the day zero-padded to 10 digits, which makes member order day order for range reads.

  Provides: FLOW_KINDS, dayText, flowField, declaredKgField, flowIndexMember, declarationIndexMember,
            indexedDay, addFlow, addOutflowId, declareStock, declaration, outflowIdsJson, pruneBook
]]
--@include "numbers"
--@include "json"

-- The order of FlowKind in src/state/store.ts.
local FLOW_KINDS = { 'produced', 'received', 'consumed', 'shipped', 'exported' }

local function dayText(day) return format('%d', day) end
local function dayIndexText(day) return format('%010d', day) end

local function flowField(material, day, kind) return 'f|' .. material .. '|' .. dayText(day) .. '|' .. kind end
local function declaredKgField(material, day) return 'dk|' .. material .. '|' .. dayText(day) end
local function declaredByField(material, day) return 'dr|' .. material .. '|' .. dayText(day) end
local function outflowIdsField(material, day) return 'o|' .. material .. '|' .. dayText(day) end
local function flowIndexMember(material, day) return 'f|' .. material .. '|' .. dayIndexText(day) end
local function declarationIndexMember(material, day) return 'd|' .. material .. '|' .. dayIndexText(day) end

-- Day of a days-index member: the digits after '<f|d>|<material>|'.
local function indexedDay(member, material)
  return tonumber(string.sub(member, #material + 4))
end

-- indexed (optional) holds the days-index members this script already added, so several flows of
-- one material and day index it once.
local function addFlow(bookKey, daysKey, material, day, kind, kg, indexed)
  local field = flowField(material, day, kind)
  -- Not HINCRBYFLOAT: it adds in long double and prints 17 digits, so totals would drift from Node's.
  local total = tonumber(redis.call('HGET', bookKey, field) or '0')
  redis.call('HSET', bookKey, field, exactNumber(roundKg(total + kg)))
  local member = flowIndexMember(material, day)
  if indexed then
    if indexed[member] then return end
    indexed[member] = true
  end
  redis.call('ZADD', daysKey, 0, member)
end

-- The stored list is the JSON text of its ids (each written by cjson.encode), so an id is appended
-- to the text rather than the list decoded and written again.
local function addOutflowId(bookKey, material, day, reportId, maxIds)
  local field = outflowIdsField(material, day)
  local stored = redis.call('HGET', bookKey, field)
  local idJson = cjson.encode(reportId)
  if not stored then
    if maxIds <= 0 then return end
    redis.call('HSET', bookKey, field, '[' .. idJson .. ']')
    return
  end
  local ids = cjson.decode(stored)
  if #ids >= maxIds then return end
  for _, id in ipairs(ids) do
    if id == reportId then return end
  end
  if #ids == 0 then
    redis.call('HSET', bookKey, field, '[' .. idJson .. ']')
  else
    redis.call('HSET', bookKey, field, string.sub(stored, 1, -2) .. ',' .. idJson .. ']')
  end
end

-- A later declaration for the same day replaces the earlier one.
local function declareStock(bookKey, daysKey, material, day, kg, reportId)
  redis.call('HSET', bookKey, declaredKgField(material, day), exactNumber(kg), declaredByField(material, day), reportId)
  redis.call('ZADD', daysKey, 0, declarationIndexMember(material, day))
end

-- The declaration on that day as { kg, reportId }, or nil.
local function declaration(bookKey, material, day)
  local stored = redis.call('HMGET', bookKey, declaredKgField(material, day), declaredByField(material, day))
  if not stored[1] then return nil end
  return { kg = tonumber(stored[1]), reportId = stored[2] }
end

-- The day's outflow reportIds as JSON array text.
local function outflowIdsJson(bookKey, material, day)
  return redis.call('HGET', bookKey, outflowIdsField(material, day)) or '[]'
end

-- HDEL and ZREM take their fields as Lua call arguments, and Lua's C stack holds only a few thousand.
local ARGS_PER_DELETE = 1000

local function deleteAll(command, key, items)
  for first = 1, #items, ARGS_PER_DELETE do
    redis.call(command, key, unpack(items, first, math.min(first + ARGS_PER_DELETE - 1, #items)))
  end
end

-- pruneBook of src/state/balance.ts: with A the latest declaration on or before cutoffDay, removes
-- the declarations before A and the flow buckets, outflow lists and index members of days <= A.
-- A material never declared on or before cutoffDay is left whole.
local function pruneBook(bookKey, daysKey, material, cutoffDay)
  local latest = redis.call('ZREVRANGEBYLEX', daysKey,
    '[' .. declarationIndexMember(material, cutoffDay), '[d|' .. material .. '|', 'LIMIT', 0, 1)
  if not latest[1] then return end
  local openingDay = indexedDay(latest[1], material)
  local members, fields = {}, {}
  for _, member in ipairs(redis.call('ZRANGEBYLEX', daysKey,
      '[d|' .. material .. '|', '(' .. declarationIndexMember(material, openingDay))) do
    local day = indexedDay(member, material)
    members[#members + 1] = member
    fields[#fields + 1] = declaredKgField(material, day)
    fields[#fields + 1] = declaredByField(material, day)
  end
  for _, member in ipairs(redis.call('ZRANGEBYLEX', daysKey,
      '[f|' .. material .. '|', '[' .. flowIndexMember(material, openingDay))) do
    local day = indexedDay(member, material)
    members[#members + 1] = member
    for _, kind in ipairs(FLOW_KINDS) do fields[#fields + 1] = flowField(material, day, kind) end
    fields[#fields + 1] = outflowIdsField(material, day)
  end
  if #members == 0 then return end
  deleteAll('HDEL', bookKey, fields)
  deleteAll('ZREM', daysKey, members)
end
