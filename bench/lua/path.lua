-- GET of the path given to wrk (/livez, /online-users?limit=1000, /redis/stats, ...).
dofile("bench/lua/report.lua")
