--[[
  Applies one report to its producer's state, at most once per reportId, and fires the balance
  checks whose grace period the producer's clock has now passed. The Redis twin of applyOne in
  src/state/memory-store.ts: same steps, same order, same rounding.

  Input:
    KEYS[1] seen          string   this report's ApplyResult JSON, expiring after ARGV[5] seconds
    KEYS[2] meta          hash     wm -> the producer's clock, the largest occurredAt so far
    KEYS[3] book          hash     flow buckets, declarations, outflow reportIds (includes/book.lua)
    KEYS[4] days          zset     which days have flows or declarations, per material (includes/book.lua)
    KEYS[5] pending       zset     checks waiting for their grace period (includes/pending.lua)
    KEYS[6] licence-use   hash     licenceId -> kg exported under it by this producer
    All six carry the producer's hash tag.

    ARGV[1]  reportId
    ARGV[2]  occurredAt
    ARGV[3]  day        \ computed by the caller (src/domain/time.ts owns calendar arithmetic)
    ARGV[4]  dueAt      /
    ARGV[5]  seconds to remember the result for redeliveries
    ARGV[6]  most outflow reportIds listed per material and day
    ARGV[7]  material of the stock declaration, '' when none
    ARGV[8]  its onHandKg, '' when none
    ARGV[9]  licenceId of the licence use, '' when none
    ARGV[10] its kg, '' when none
    ARGV[11] milliseconds in a day (DAY_MS of src/domain/time.ts)
    ARGV[12] days of book kept behind the producer's clock (RETENTION_DAYS of src/state/store.ts)
    ARGV[13..] the flows, four arguments each: material, kind, kg, outflow ('1' when the kind puts
             the balance at risk (OUTFLOW_KINDS), else '0')
    Numbers are JavaScript's String(n), which reads back as the same double.

  Returns { status, resultJson }:
    'applied'    first delivery; the state changed and resultJson was stored under KEYS[1]
    'duplicate'  redelivery; nothing changed and resultJson is the first delivery's result
  resultJson is the ApplyResult with duplicate false and exact numbers.
]]
--@include "numbers"
--@include "json"
--@include "book"
--@include "balance"
--@include "pending"

local seenKey, metaKey, bookKey, daysKey, pendingKey, licenceUseKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]

local stored = redis.call('GET', seenKey)
if stored then return { 'duplicate', stored } end

local reportId = ARGV[1]
local occurredAt = tonumber(ARGV[2])
local day = tonumber(ARGV[3])
local dueAt = tonumber(ARGV[4])
local seenTtlSeconds = ARGV[5]
local maxSubjectIds = tonumber(ARGV[6])
local dayMs = tonumber(ARGV[11])
local retentionDays = tonumber(ARGV[12])

local indexed, scheduled = {}, {}
for i = 13, #ARGV, 4 do
  local material = ARGV[i]
  addFlow(bookKey, daysKey, material, day, ARGV[i + 1], tonumber(ARGV[i + 2]), indexed)
  if ARGV[i + 3] == '1' then
    addOutflowId(bookKey, material, day, reportId, maxSubjectIds)
    -- Scheduled again with the same dueAt, a check is left as it is.
    if not scheduled[material] then
      scheduled[material] = true
      scheduleCheck(pendingKey, 'deficit', material, day, dueAt)
    end
  end
end

if ARGV[7] ~= '' then
  local material = ARGV[7]
  declareStock(bookKey, daysKey, material, day, tonumber(ARGV[8]), reportId)
  scheduleCheck(pendingKey, 'stock', material, day, dueAt)
end

local licenceUsedBeforeKg, licenceUsedAfterKg = nil, nil
if ARGV[9] ~= '' then
  local licenceId = ARGV[9]
  licenceUsedBeforeKg = tonumber(redis.call('HGET', licenceUseKey, licenceId) or '0')
  licenceUsedAfterKg = roundKg(licenceUsedBeforeKg + tonumber(ARGV[10]))
  redis.call('HSET', licenceUseKey, licenceId, exactNumber(licenceUsedAfterKg))
end

local watermark = math.max(tonumber(redis.call('HGET', metaKey, 'wm') or '0'), occurredAt)
redis.call('HSET', metaKey, 'wm', exactNumber(watermark))

local firing = {}
local daysOf = {}
for _, due in ipairs(takeDueChecks(pendingKey, watermark)) do
  -- A declaration on the same day reconciles a deficit check: the stock check speaks for that day.
  local declared = declaration(bookKey, due.material, due.day)
  if (due.kind == 'stock') == (declared ~= nil) then
    firing[#firing + 1] = { due = due, declared = declared }
    local days = daysOf[due.material]
    if not days then
      days = {}
      daysOf[due.material] = days
    end
    days[#days + 1] = due.day
  end
end

local balances = {}
for material, days in pairs(daysOf) do balances[material] = booksAt(bookKey, daysKey, material, days) end

-- The result is written by hand, with the keys in the byte order encodeJson would sort them into,
-- so it is the same text as encodeJson of the ApplyResult, without sorting keys at every level.
local checks = {}
for i, f in ipairs(firing) do
  local due = f.due
  local b = balances[due.material][due.day]
  local opening = b.opening
  local openingJson = 'null'
  if opening ~= JSON_NULL then
    openingJson = '{"day":' .. exactNumber(opening.day) .. ',"kg":' .. exactNumber(opening.kg) .. '}'
  end
  local t = b.totals
  local declaredKgJson, subjectIdsJson = '', nil
  if due.kind == 'deficit' then
    subjectIdsJson = outflowIdsJson(bookKey, due.material, due.day)
  else
    declaredKgJson = ',"declaredKg":' .. exactNumber(f.declared.kg)
    subjectIdsJson = '[' .. cjson.encode(f.declared.reportId) .. ']'
  end
  checks[i] = '{"bookKg":' .. exactNumber(b.bookKg)
    .. ',"day":' .. exactNumber(due.day)
    .. declaredKgJson
    .. ',"kind":' .. cjson.encode(due.kind)
    .. ',"material":' .. cjson.encode(due.material)
    .. ',"opening":' .. openingJson
    .. ',"subjectIds":' .. subjectIdsJson
    .. ',"totals":{"consumed":' .. exactNumber(t.consumed)
    .. ',"exported":' .. exactNumber(t.exported)
    .. ',"produced":' .. exactNumber(t.produced)
    .. ',"received":' .. exactNumber(t.received)
    .. ',"shipped":' .. exactNumber(t.shipped) .. '}}'
end

local licenceJson = ''
if licenceUsedBeforeKg ~= nil then
  licenceJson = ',"licenceUsedAfterKg":' .. exactNumber(licenceUsedAfterKg)
    .. ',"licenceUsedBeforeKg":' .. exactNumber(licenceUsedBeforeKg)
end
local resultJson = '{"checks":[' .. table.concat(checks, ',') .. '],"duplicate":false'
  .. licenceJson
  .. ',"reportId":' .. cjson.encode(reportId)
  .. ',"watermark":' .. exactNumber(watermark) .. '}'
-- After the checks, so nothing this report fires reads a pruned day; only the materials this report
-- touches, so a report's cost does not grow with the producer's catalogue. dayOf of time.ts: the
-- same double division and floor.
local cutoffDay = math.floor(watermark / dayMs) - retentionDays
local pruned = {}
for i = 13, #ARGV, 4 do
  local material = ARGV[i]
  if not pruned[material] then
    pruned[material] = true
    pruneBook(bookKey, daysKey, material, cutoffDay)
  end
end
if ARGV[7] ~= '' and not pruned[ARGV[7]] then pruneBook(bookKey, daysKey, ARGV[7], cutoffDay) end

redis.call('SET', seenKey, resultJson, 'EX', seenTtlSeconds)
return { 'applied', resultJson }
