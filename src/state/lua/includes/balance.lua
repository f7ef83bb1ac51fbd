--[[
  bookAt of src/state/balance.ts over the Redis layout of book.lua: the book at the end of `day`,
  starting from the latest declaration strictly before it.

  Provides:
    bookAt(bookKey, daysKey, material, day) -> opening ({ day, kg } or JSON_NULL), totals, bookKg
]]
--@include "numbers"
--@include "json"
--@include "book"

-- HMGET takes its fields as Lua call arguments, and Lua's C stack holds only a few thousand.
local FIELDS_PER_HMGET = 1000

local function hmgetAll(key, fields)
  local values = {}
  for first = 1, #fields, FIELDS_PER_HMGET do
    local last = math.min(first + FIELDS_PER_HMGET - 1, #fields)
    local chunk = redis.call('HMGET', key, unpack(fields, first, last))
    for i = 1, #chunk do values[first + i - 1] = chunk[i] end
  end
  return values
end

-- Day of a days-index member: the digits after '<f|d>|<material>|'.
local function indexedDay(member, material)
  return tonumber(string.sub(member, #material + 4))
end

local function bookAt(bookKey, daysKey, material, day)
  local openingDay = nil
  local latest = redis.call('ZREVRANGEBYLEX', daysKey,
    '(' .. declarationIndexMember(material, day), '[d|' .. material .. '|', 'LIMIT', 0, 1)
  if latest[1] then openingDay = indexedDay(latest[1], material) end

  local from = '[f|' .. material .. '|'
  if openingDay then from = '(' .. flowIndexMember(material, openingDay) end
  local flowDays = redis.call('ZRANGEBYLEX', daysKey, from, '[' .. flowIndexMember(material, day))

  local fields = {}
  for _, member in ipairs(flowDays) do
    local flowDay = indexedDay(member, material)
    for _, kind in ipairs(FLOW_KINDS) do fields[#fields + 1] = flowField(material, flowDay, kind) end
  end
  local values = hmgetAll(bookKey, fields)

  -- The memory store sums days in the order they first appeared, this in day order. Each bucket
  -- is a whole number of grams, and rounding after every addition makes such sums exact (below
  -- about 10^12 kg), so the order cannot change the result.
  local totals = { produced = 0, received = 0, consumed = 0, shipped = 0, exported = 0 }
  for i = 1, #flowDays do
    for k, kind in ipairs(FLOW_KINDS) do
      local value = values[(i - 1) * #FLOW_KINDS + k]
      totals[kind] = roundKg(totals[kind] + (value and tonumber(value) or 0))
    end
  end

  local opening = JSON_NULL
  local openingKg = 0
  if openingDay then
    openingKg = tonumber(redis.call('HGET', bookKey, declaredKgField(material, openingDay)))
    opening = { day = openingDay, kg = openingKg }
  end
  local bookKg = roundKg(openingKg + totals.produced + totals.received - totals.consumed - totals.shipped)
  return opening, totals, bookKg
end
