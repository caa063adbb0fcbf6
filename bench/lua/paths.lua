-- BENCH_METHOD (GET unless said) of a random line of the file BENCH_PATHS (one
-- path a line, already URL-encoded). The same script drives the service and
-- its peers (webdis, nginx), so wrk's own cost per request is alike for each;
-- the requests are formatted once, at start.
dofile("bench/lua/report.lua")

local method = os.getenv("BENCH_METHOD") or "GET"
local file = os.getenv("BENCH_PATHS")
local reqs = {}
local seed_init = init

function init(args)
   seed_init(args)
   for path in io.lines(file) do
      if path ~= "" then
         -- a POST or PUT says Content-Length: 0, like curl -X POST
         local body = (method == "POST" or method == "PUT") and "" or nil
         reqs[#reqs + 1] = wrk.format(method, path, nil, body)
      end
   end
   assert(#reqs > 0, "BENCH_PATHS names no path")
end

function request()
   return reqs[math.random(#reqs)]
end
