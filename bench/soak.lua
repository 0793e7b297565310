-- Mixed traffic for bench/soak.py: path commands, JSON commands, pipelines, transactions, publishes.
-- wrk passes the REST URL's path prefix and the token through environment-free globals set in init().
local token, prefix
local counter = 0

function init(args)
  token = args[1]
  prefix = args[2]
end

function request()
  counter = counter + 1
  local key = "soak:" .. (counter % 1000)
  local headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
  local kind = counter % 10
  if kind < 4 then
    return wrk.format("GET", prefix .. "/get/" .. key, headers)
  elseif kind < 6 then
    return wrk.format("GET", prefix .. "/set/" .. key .. "/" .. string.rep("v", 100), headers)
  elseif kind == 6 then
    return wrk.format("POST", prefix, headers, '["INCR","soak:counter"]')
  elseif kind == 7 then
    return wrk.format("POST", prefix .. "/pipeline", headers,
      '[["INCR","soak:p"],["GET","' .. key .. '"],["EXPIRE","soak:p",600],["LPUSH","soak:l","x"],["LTRIM","soak:l",0,99]]')
  elseif kind == 8 then
    return wrk.format("POST", prefix .. "/multi-exec", headers, '[["INCR","soak:tx"],["GET","soak:tx"]]')
  else
    return wrk.format("POST", prefix .. "/publish/soak/tick", headers)
  end
end
