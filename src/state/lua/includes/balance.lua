--[[
  booksAt of src/state/balance.ts over the Redis layout of book.lua: the book at the end of each of
  several days of one material, each starting from the latest declaration strictly before it.

  Provides:
    booksAt(bookKey, daysKey, material, days) -> { [day] = { opening = { day, kg } or JSON_NULL, totals, bookKg } }
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

-- totals + (stored bucket or 0), rounded as balance.ts does. With no bucket the sum is the rounded
-- total itself, which roundKg gives back unchanged below 2^50 thousandths (and 0 + 0 is +0).
local function addBucket(total, stored)
  if stored then return roundKg(total + tonumber(stored)) end
  if total == 0 then return 0 end
  if total > -1e12 and total < 1e12 then return total end
  return roundKg(total + 0)
end

-- One walk in day order for all the days: after a long silence many checks of one material fire
-- at once, and each reading its own period would be quadratic in the silence. Flows are summed in
-- day order with rounding after each addition, as balance.ts does, so the results are the same
-- to the bit however many days are asked for together.
local function booksAt(bookKey, daysKey, material, days)
  local wanted, isWanted = {}, {}
  for _, day in ipairs(days) do
    if not isWanted[day] then
      isWanted[day] = true
      wanted[#wanted + 1] = day
    end
  end
  if #wanted > 1 then table.sort(wanted) end
  local out = {}
  if #wanted == 0 then return out end
  local firstDay, lastDay = wanted[1], wanted[#wanted]

  local openingDay = nil
  local latest = redis.call('ZREVRANGEBYLEX', daysKey,
    '(' .. declarationIndexMember(material, firstDay), '[d|' .. material .. '|', 'LIMIT', 0, 1)
  if latest[1] then openingDay = indexedDay(latest[1], material) end

  -- Declarations from the first day on become the opening of the later days.
  local declarationDays = {}
  if firstDay < lastDay then
    for _, member in ipairs(redis.call('ZRANGEBYLEX', daysKey,
        '[' .. declarationIndexMember(material, firstDay), '(' .. declarationIndexMember(material, lastDay))) do
      declarationDays[#declarationDays + 1] = indexedDay(member, material)
    end
  end
  local declaredKg = {}
  if openingDay or #declarationDays > 0 then
    local declaredOn = {}
    if openingDay then declaredOn[1] = openingDay end
    for _, d in ipairs(declarationDays) do declaredOn[#declaredOn + 1] = d end
    local declaredFields = {}
    for i, d in ipairs(declaredOn) do declaredFields[i] = declaredKgField(material, d) end
    local declaredValues = hmgetAll(bookKey, declaredFields)
    for i, d in ipairs(declaredOn) do declaredKg[d] = tonumber(declaredValues[i]) end
  end

  local from = '[f|' .. material .. '|'
  if openingDay then from = '(' .. flowIndexMember(material, openingDay) end
  local flowDays = {}
  for _, member in ipairs(redis.call('ZRANGEBYLEX', daysKey, from, '[' .. flowIndexMember(material, lastDay))) do
    flowDays[#flowDays + 1] = indexedDay(member, material)
  end
  -- The five buckets of a day in FLOW_KINDS order.
  local fields = {}
  local prefix = 'f|' .. material .. '|'
  for i, flowDay in ipairs(flowDays) do
    local dayPrefix = prefix .. dayText(flowDay) .. '|'
    local at = (i - 1) * 5
    fields[at + 1] = dayPrefix .. 'produced'
    fields[at + 2] = dayPrefix .. 'received'
    fields[at + 3] = dayPrefix .. 'consumed'
    fields[at + 4] = dayPrefix .. 'shipped'
    fields[at + 5] = dayPrefix .. 'exported'
  end
  local values = #fields > 0 and hmgetAll(bookKey, fields) or fields

  local nextDeclaration, nextFlow = 1, 1
  local produced, received, consumed, shipped, exported = 0, 0, 0, 0, 0
  for _, day in ipairs(wanted) do
    while declarationDays[nextDeclaration] and declarationDays[nextDeclaration] < day do
      openingDay = declarationDays[nextDeclaration]
      nextDeclaration = nextDeclaration + 1
      produced, received, consumed, shipped, exported = 0, 0, 0, 0, 0
      while flowDays[nextFlow] and flowDays[nextFlow] <= openingDay do nextFlow = nextFlow + 1 end
    end
    while flowDays[nextFlow] and flowDays[nextFlow] <= day do
      local at = (nextFlow - 1) * 5
      produced = addBucket(produced, values[at + 1])
      received = addBucket(received, values[at + 2])
      consumed = addBucket(consumed, values[at + 3])
      shipped = addBucket(shipped, values[at + 4])
      exported = addBucket(exported, values[at + 5])
      nextFlow = nextFlow + 1
    end
    local opening = JSON_NULL
    local openingKg = 0
    if openingDay then
      openingKg = declaredKg[openingDay]
      opening = { day = openingDay, kg = openingKg }
    end
    out[day] = {
      opening = opening,
      totals = { produced = produced, received = received, consumed = consumed, shipped = shipped, exported = exported },
      bookKg = roundKg(openingKg + produced + received - consumed - shipped),
    }
  end
  return out
end
