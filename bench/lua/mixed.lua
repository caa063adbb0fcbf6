-- A mixed load for the RSS run: every main endpoint, in rough production
-- proportions, on random registered clients.
dofile("bench/lua/report.lua")

local bytes = tonumber(os.getenv("BENCH_FRAME_BYTES") or "40000")
local frame = "\255\216\255\224" .. string.rep("rtstate!", math.ceil(bytes / 8)):sub(1, bytes - 4)
local jpeg = {["Content-Type"] = "image/jpeg"}

function request()
   local x, id = math.random(100), random_id()
   if x <= 40 then
      return wrk.format("POST", "/clients/" .. id .. "/heartbeat", nil, "")
   elseif x <= 60 then
      return wrk.format("GET", "/clients/" .. id)
   elseif x <= 75 then
      return wrk.format("GET", "/clients/" .. id .. "/image")
   elseif x <= 85 then
      return wrk.format("PUT", "/clients/" .. id .. "/image", jpeg, frame)
   elseif x <= 90 then
      return wrk.format("GET", "/online-users?limit=100")
   elseif x <= 95 then
      return wrk.format("GET", "/clients?limit=100")
   else
      return wrk.format("GET", "/livez")
   end
end
