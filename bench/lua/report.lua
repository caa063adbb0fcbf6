-- Shared by every scenario script: one JSON line at the end of a wrk run
-- (requests/s, latency percentiles in ms, errors of every kind), which
-- bench/bench.sh reads. Ids: BENCH_IDS clients named BENCH_PREFIX..%05d.
ids = tonumber(os.getenv("BENCH_IDS") or "10000")
prefix = os.getenv("BENCH_PREFIX") or "cam-"

function random_id()
   return string.format("%s%05d", prefix, math.random(0, ids - 1))
end

local thread_count = 0
function setup(thread)
   thread_count = thread_count + 1
   thread:set("seed", thread_count)
end

function init(args)
   math.randomseed(os.time() * 1000 + (seed or 0))
end

function done(summary, latency, requests)
   local e = summary.errors
   local errors = e.connect + e.read + e.write + e.status + e.timeout
   io.write(string.format(
      '{"requests": %d, "seconds": %.3f, "rps": %.1f, "p50_ms": %.3f, "p99_ms": %.3f, ' ..
      '"p999_ms": %.3f, "max_ms": %.3f, "errors": %d}\n',
      summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
      latency:percentile(50) / 1e3, latency:percentile(99) / 1e3,
      latency:percentile(99.9) / 1e3, latency.max / 1e3, errors))
end
