--[[
  The detector's shared event-time watermark (DESIGN.md, "Watermark"). Each instance, after its
  batch's state is saved, raises the latest occurredAt of the partitions it read; the watermark is
  the minimum over every partition with data, less the allowed lateness, and never moves back
  (kept in field '@', so a partition that first gets data late cannot pull it down).

  Input:
    KEYS[1] watermark  hash  source ("<topic kind>/<partition>") -> latest occurredAt; '@' -> watermark
    ARGV[1]    allowed lateness, ms
    ARGV[2..]  pairs source, occurredAt (a source's time only ever rises)

  Returns: the watermark as a decimal string, or '' while no partition has data.
]]
local lateness = tonumber(ARGV[1])
for i = 2, #ARGV, 2 do
  local source, time = ARGV[i], tonumber(ARGV[i + 1])
  local held = tonumber(redis.call('HGET', KEYS[1], source))
  if held == nil or time > held then
    redis.call('HSET', KEYS[1], source, ARGV[i + 1])
  end
end
local all = redis.call('HGETALL', KEYS[1])
local min = nil
local kept = nil
for i = 1, #all, 2 do
  local v = tonumber(all[i + 1])
  if all[i] == '@' then
    kept = v
  elseif min == nil or v < min then
    min = v
  end
end
if min == nil then
  return ''
end
local mark = min - lateness
if kept ~= nil and kept > mark then
  mark = kept
end
local text = string.format('%.0f', mark)
redis.call('HSET', KEYS[1], '@', text)
return text
