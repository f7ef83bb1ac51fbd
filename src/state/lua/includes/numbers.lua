--[[
  Numbers exactly as JavaScript has them. Both stores must hand the rules the same doubles, to the
  last bit, and Lua here runs on the same IEEE doubles as Node, so the arithmetic is repeated
  operation for operation. Redis's cjson writes only 14 significant digits (1234567.123456789 comes
  out as 1234567.1234568, 8640000000000001 as 8.64e+15), so numbers are never formatted by it.

  Provides:
    jsRound(x)       Math.round(x)
    roundKg(kg)      roundKg of src/state/balance.ts
    exactNumber(n)   the shortest decimal text that reads back as n (integers without exponent)
]]

local TWO_POW_53 = 9007199254740992

local floor, format, tonumber = math.floor, string.format, tonumber

local function jsRound(x)
  -- floor(x + 0.5) would round 0.49999999999999994 up; x - floor(x) is exact for every double.
  local r = floor(x)
  if x - r >= 0.5 then r = r + 1 end
  -- Math.round gives -0 for [-0.5, 0); the sign can decide which way a later sum rounds.
  if r == 0 and x < 0 then r = -r end
  return r
end

-- jsRound inlined: this runs for every flow bucket a balance sums.
local function roundKg(kg)
  local x = kg * 1000
  local r = floor(x)
  if x - r >= 0.5 then r = r + 1 end
  if r == 0 and x < 0 then r = -r end
  return r / 1000
end

local function exactNumber(n)
  if n ~= n or n == math.huge or n == -math.huge then
    error('ree: cannot store a non-finite number')
  end
  if n == 0 then
    if 1 / n < 0 then return '-0' end
    return '0'
  end
  if n == floor(n) and n > -TWO_POW_53 and n < TWO_POW_53 then
    return format('%d', n)
  end
  -- Most numbers are kg rounded to grams, which 15 digits always give back.
  local text = format('%.15g', n)
  if tonumber(text) == n then return text end
  text = format('%.16g', n)
  if tonumber(text) == n then return text end
  return format('%.17g', n)
end
