--[[
  Sets producers' entries in one partition's timer index (src/state/redis-timer-index.ts) to what
  their saved state says, unless a newer owner has set them since. A run sets a producer's entry
  right after its save; an instance paused between the two (a long GC pause, SIGSTOP) may send the
  set after a newer owner has loaded the producer, run it and set the entry from its own state.
  That late set would hide a timer the newer owner's state still has (a later time, or a removal),
  and a timer that never fires is an alert lost. Epochs are the state engine's ownership epochs
  (ownership.lua): an instance takes a higher one at every assignment, and a run's epoch is read
  before the run, so an owner that took the producer after that run began sets under a higher
  one (the paused instance may take a higher one still on rejoining; its late set keeps the old).
  A removal keeps its epoch field, so the hash holds one field per producer ever indexed.

  Input:
    KEYS[1] index   sorted set  producerId -> earliest pending due time (-inf: outbox waiting)
    KEYS[2] epochs  hash        producerId -> epoch of the last set of its entry
    Both carry the engine's hash tag.

    ARGV[1]    the caller's epoch (the one its save was made under)
    ARGV[2..]  pairs producerId, score ('' removes the entry)

  Returns: the number of entries not set because a newer owner had set them.
]]
local mine = tonumber(ARGV[1])
local skipped = 0
for i = 2, #ARGV, 2 do
  local id, score = ARGV[i], ARGV[i + 1]
  local last = tonumber(redis.call('HGET', KEYS[2], id) or '0')
  if last > mine then
    skipped = skipped + 1
  else
    if score == '' then
      redis.call('ZREM', KEYS[1], id)
    else
      redis.call('ZADD', KEYS[1], score, id)
    end
    if last < mine then
      redis.call('HSET', KEYS[2], id, ARGV[1])
    end
  end
end
return skipped
