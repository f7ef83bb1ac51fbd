--[[
  Applies one report to its producer's state, at most once per reportId, and fires the balance
  checks whose grace period the producer's clock has now passed. The Redis twin of applyOne in
  src/state/memory-store.ts: same steps, same order, same rounding.

  Input:
    KEYS[1] seen          string   this report's ApplyResult JSON, expiring after ARGV[2] seconds
    KEYS[2] meta          hash     wm -> the producer's clock, the largest occurredAt so far
    KEYS[3] book          hash     flow buckets, declarations, outflow reportIds (includes/book.lua)
    KEYS[4] days          zset     which days have flows or declarations, per material (includes/book.lua)
    KEYS[5] pending       zset     checks waiting for their grace period (includes/pending.lua)
    KEYS[6] licence-use   hash     licenceId -> kg exported under it by this producer
    All six carry the producer's hash tag.

    ARGV[1] the update as JSON:
              { reportId, occurredAt, day, dueAt,
                flows: [ { material, kind, kg, outflow } ],
                declaration: { material, onHandKg }  (absent when none),
                licenceUse: { licenceId, kg }        (absent when none) }
            day and dueAt are computed by the caller (src/domain/time.ts owns calendar arithmetic);
            outflow says whether the flow kind puts the balance at risk (OUTFLOW_KINDS).
    ARGV[2] seconds to remember the result for redeliveries
    ARGV[3] most outflow reportIds listed per material and day

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

local update = cjson.decode(ARGV[1])
local seenTtlSeconds = ARGV[2]
local maxSubjectIds = tonumber(ARGV[3])
local day, dueAt = update.day, update.dueAt

for _, flow in ipairs(update.flows) do
  addFlow(bookKey, daysKey, flow.material, day, flow.kind, flow.kg)
  if flow.outflow then
    addOutflowId(bookKey, flow.material, day, update.reportId, maxSubjectIds)
    scheduleCheck(pendingKey, 'deficit', flow.material, day, dueAt)
  end
end

if update.declaration then
  declareStock(bookKey, daysKey, update.declaration.material, day, update.declaration.onHandKg, update.reportId)
  scheduleCheck(pendingKey, 'stock', update.declaration.material, day, dueAt)
end

local licenceUsedBeforeKg, licenceUsedAfterKg = nil, nil
if update.licenceUse then
  local licenceId = update.licenceUse.licenceId
  licenceUsedBeforeKg = tonumber(redis.call('HGET', licenceUseKey, licenceId) or '0')
  licenceUsedAfterKg = roundKg(licenceUsedBeforeKg + update.licenceUse.kg)
  redis.call('HSET', licenceUseKey, licenceId, exactNumber(licenceUsedAfterKg))
end

local watermark = math.max(tonumber(redis.call('HGET', metaKey, 'wm') or '0'), update.occurredAt)
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

local checks = jsonArray({})
for _, f in ipairs(firing) do
  local due = f.due
  local b = balances[due.material][due.day]
  local check = {
    kind = due.kind, material = due.material, day = due.day,
    opening = b.opening, totals = b.totals, bookKg = b.bookKg,
  }
  if due.kind == 'deficit' then
    check.subjectIds = outflowIds(bookKey, due.material, due.day)
  else
    check.declaredKg = f.declared.kg
    check.subjectIds = jsonArray({ f.declared.reportId })
  end
  checks[#checks + 1] = check
end

local resultJson = encodeJson({
  reportId = update.reportId,
  duplicate = false,
  watermark = watermark,
  licenceUsedBeforeKg = licenceUsedBeforeKg,
  licenceUsedAfterKg = licenceUsedAfterKg,
  checks = checks,
})
redis.call('SET', seenKey, resultJson, 'EX', seenTtlSeconds)
return { 'applied', resultJson }
