-- GET /clients/{id}, a random registered client each time.
dofile("bench/lua/report.lua")

function request()
   return wrk.format("GET", "/clients/" .. random_id())
end
