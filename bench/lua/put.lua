-- PUT /clients/{id}/image with a BENCH_FRAME_BYTES JPEG, a random client each time.
dofile("bench/lua/report.lua")

local bytes = tonumber(os.getenv("BENCH_FRAME_BYTES") or "40000")
-- JPEG magic, then filler: the service checks the magic, Redis stores the bytes
local frame = "\255\216\255\224" .. string.rep("rtstate!", math.ceil(bytes / 8)):sub(1, bytes - 4)
local headers = {["Content-Type"] = "image/jpeg"}

function request()
   return wrk.format("PUT", "/clients/" .. random_id() .. "/image", headers, frame)
end
