--[[
  JSON writing with exact numbers (see numbers.lua for why cjson cannot write them). cjson still
  decodes arguments and escapes strings.

  Provides:
    JSON_NULL          written as null
    jsonArray(t)       marks t to be written as an array, even when empty
    encodeJson(value)  tables are objects (keys sorted) unless marked by jsonArray; nil fields are left out
]]
--@include "numbers"

local JSON_NULL = cjson.null
local JSON_ARRAY = {}

local function jsonArray(t)
  return setmetatable(t, JSON_ARRAY)
end

local function encodeJson(value)
  if value == JSON_NULL then return 'null' end
  local valueType = type(value)
  if valueType == 'number' then return exactNumber(value) end
  if valueType == 'string' then return cjson.encode(value) end
  if valueType == 'boolean' then return value and 'true' or 'false' end
  if valueType ~= 'table' then error('ree: cannot write a ' .. valueType .. ' as JSON') end
  local parts = {}
  if getmetatable(value) == JSON_ARRAY then
    for i = 1, #value do parts[i] = encodeJson(value[i]) end
    return '[' .. table.concat(parts, ',') .. ']'
  end
  local names = {}
  for name in pairs(value) do names[#names + 1] = name end
  table.sort(names)
  for i, name in ipairs(names) do parts[i] = cjson.encode(name) .. ':' .. encodeJson(value[name]) end
  return '{' .. table.concat(parts, ',') .. '}'
end
