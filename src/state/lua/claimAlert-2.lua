--[[
  Claims one finding at one revision for a publishing path (store.ts claimAlerts): of the two
  paths that make the same finding (a report batch and a watchlist change, pipeline.ts), the first
  to claim it sends it, and the other leaves it. The published marker is read in the same step,
  so a claim never outlives the news that the alert went out.

  Input:
    KEYS[1] the claim     string  "<path> <txn>[ <partition>]" (store.ts claimValue), with a lease (PX)
    KEYS[2] the marker    string  highest revision published (publishedAlert; same slot)
    ARGV[1] path          'reports' | 'watchlist'
    ARGV[2] holder        the claim to store, starting with the path
    ARGV[3] revision
    ARGV[4] lease, ms     renewed by every claim of the same path

  Returns: 'published' (a marker at this revision or higher), 'other-path' (the other path holds
  it), or 'claimed' (no claim, or the same path's: this transaction takes it over).
]]
local published = redis.call('GET', KEYS[2])
if published and (tonumber(published) or 1) >= tonumber(ARGV[3]) then
  return 'published'
end
local held = redis.call('GET', KEYS[1])
local mine = ARGV[1] .. ' '
if held and string.sub(held, 1, #mine) ~= mine then
  return 'other-path'
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[4])
return 'claimed'
