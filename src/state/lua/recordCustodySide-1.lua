--[[
  Records one side of a domestic transfer and reads the whole transfer back, in one atomic step,
  so whichever side is recorded second sees the first, whatever instance records each
  (src/state/redis-custody-ledger.ts). A side already held keeps its first value: a redelivered
  report, or the same side from another instance, changes nothing.

  Input:
    KEYS[1] custody  hash  "shipment" | "receipt" -> the side as JSON (one hash per shipmentId,
                           its own hash tag, so the script touches one slot)
    ARGV[1] the side: "shipment" or "receipt"
    ARGV[2] the side as JSON
    ARGV[3] the safety TTL in seconds, renewed on every write (garbage collection only)

  Returns: the hash after the write, as {field1, json1, field2, json2}.
]]
redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return redis.call('HGETALL', KEYS[1])
