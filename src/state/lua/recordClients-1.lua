--[[
  Keeps the latest sighting of each producer, client id and name. The Redis twin of recordClients in
  src/state/memory-reference.ts; "latest" is isLaterSighting of src/state/store.ts.

  Input:
    KEYS[1] clients   hash   "<producerId>\0<clientId>\0<clientName>" -> sighting JSON
    ARGV    four per sighting: field, occurredAt, reportId, sighting JSON

  Returns: the number of sightings that were new or later than the one kept.
]]
local changed = 0
for i = 1, #ARGV, 4 do
  local field, occurredAt, reportId = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
  local known = redis.call('HGET', KEYS[1], field)
  local later = true
  if known then
    local kept = cjson.decode(known)
    if kept.occurredAt > occurredAt or (kept.occurredAt == occurredAt and kept.reportId >= reportId) then
      later = false
    end
  end
  if later then
    redis.call('HSET', KEYS[1], field, ARGV[i + 3])
    changed = changed + 1
  end
end
return changed
