--[[
  Drops one claim (store.ts releaseClaims): any claim when ARGV[1] is empty (the alert is marked
  published), else only the claimant's own (an attempt that did not commit), so a claim another
  path or a newer transaction has made since is left alone.

  Input:
    KEYS[1] the claim   string  "<path> <txn>"
    ARGV[1] the claimant's "<path> <txn>", or '' for any

  Returns: 1 if a claim was dropped, else 0.
]]
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
return redis.call('DEL', KEYS[1])
