-- GET /clients/{id}/image (the raw 40 kB frame), a random client each time.
dofile("bench/lua/report.lua")

function request()
   return wrk.format("GET", "/clients/" .. random_id() .. "/image")
end
