--[[
  Keeps the first sighting (earliest occurredAt, then reportId) of each producer, client id and
  name, and says which one is kept. The Redis twin of recordClients in
  src/state/memory-reference.ts; "earlier" is isEarlierSighting of src/state/store.ts. The first
  sighting, not the latest: it is what a watchlist-match alert names, and it must not move with
  shipments that arrive after the alert (script v1 kept the latest, per client id and name).

  Input:
    KEYS[1] clients   hash   "<producerId>\0<clientId>\0<clientName>" -> sighting JSON
    ARGV    four per sighting: field, occurredAt, reportId, sighting JSON

  Returns: for each sighting, in order, the JSON of the sighting kept for its field.
]]
local kept = {}
for i = 1, #ARGV, 4 do
  local field, occurredAt, reportId = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
  local known = redis.call('HGET', KEYS[1], field)
  local earlier = true
  if known then
    local first = cjson.decode(known)
    if first.occurredAt < occurredAt or (first.occurredAt == occurredAt and first.reportId <= reportId) then
      earlier = false
    end
  end
  if earlier then
    redis.call('HSET', KEYS[1], field, ARGV[i + 3])
    known = ARGV[i + 3]
  end
  kept[#kept + 1] = known
end
return kept
