-- wrk script: a typical authenticated write, POST /api/v1/rooms (a new communal room each time)
counter = 0
request = function()
  counter = counter + 1
  local body = string.format('{"name": "Bench room %d", "use": "users"}', counter)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["Authorization"] = wrk.headers["Authorization"]}, body)
end
