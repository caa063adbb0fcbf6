-- POST /clients/{id}/heartbeat, a random registered client each time.
dofile("bench/lua/report.lua")

function request()
   return wrk.format("POST", "/clients/" .. random_id() .. "/heartbeat", nil, "")
end
