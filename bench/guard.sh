#!/usr/bin/env bash
# The instruction-count guard (make test): runs the service under callgrind,
# counting only what its request handling executes (on_request, on_completed
# and the path unescaper, with everything they call, libraries included),
# sends the fixed request sequence of bench/httpseq.c (`guard`: every main
# endpoint, about 540 requests, one keep-alive connection) against a fresh
# redis-server, and compares the total with bench/baseline.json. More than
# 10 % over the baseline fails, and the handlers that grew are named.
# Instruction counts do not depend on timing or on how busy the machine is.
#   bench/guard.sh            check (RTSTATE_BIN names the service)
#   bench/guard.sh --write    re-measure and write bench/baseline.json
#   bench/guard.sh --cluster  the same sequence (run once to warm every node's
#                             script cache, then counted) against a fresh
#                             redis-server and against a three-master Redis
#                             Cluster (scripts/redis-cluster.sh): what routing
#                             by slot costs each handler, in instructions; a
#                             report (make bench prints it), not a check
#   GUARD_KEEP=FILE           keeps the callgrind output (callgrind_annotate FILE)
# Closes with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
bin=${RTSTATE_BIN:-build/rtstate}
httpseq=$(dirname "$bin")/bench/httpseq
baseline=bench/baseline.json
rounds=5
tolerance=10 # per cent
write=0 cluster=0
[ "${1:-}" = --write ] && write=1
[ "${1:-}" = --cluster ] && cluster=1

fail() { echo "guard: $*"; echo "0 passed, 1 failed"; exit 1; }
command -v valgrind > /dev/null || fail "valgrind: not installed (scripts/deps.sh sanitize)"
[ -x "$bin" ] && [ -x "$httpseq" ] || fail "missing $bin or $httpseq (make bench-guard-build)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rtstate-guard-XXXXXX")
rpid="" spid="" cdir=""
cleanup() {
  [ -n "$spid" ] && kill -KILL "$spid" 2> /dev/null
  [ -n "$rpid" ] && kill -KILL "$rpid" 2> /dev/null
  [ -n "$cdir" ] && scripts/redis-cluster.sh stop "$cdir"
  wait 2> /dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

# A port below the ephemeral range (so no outgoing connection holds it) that
# no socket of any state uses.
# shellcheck source=scripts/ports.sh
. scripts/ports.sh

rport=$(free_port)
redis-server --port "$rport" --bind 127.0.0.1 --dir "$tmp" --save "" --appendonly no \
  --daemonize no --logfile "$tmp/redis.log" &
rpid=$!
up=0
for _ in $(seq 200); do
  if redis-cli -p "$rport" ping > /dev/null 2>&1; then up=1; break; fi
  sleep 0.05
done
[ $up = 1 ] || { tail -5 "$tmp/redis.log"; fail "redis-server did not start"; }

# measure REDIS_URL [warm]: the sequence against it, under callgrind; sets
# total, requests, took, and $tmp/handlers (each handler's inclusive
# instructions). warm: the sequence runs once before the counters are zeroed
# (callgrind_control -z), so that what is counted is the steady state: every
# script already in every node's cache.
measure() {
  # What is counted: every instruction of the process, start-up and shutdown
  # included (with warm: from the zeroing on). Handlers run on coroutines
  # whose stacks callgrind cannot follow with --toggle-collect (a switch looks
  # like a return from the toggled function), and start-up, the few watchdog
  # ticks and shutdown are the same every run.
  # THREADS=1: one event loop, one Redis connection, the same path every run;
  # the reaper never runs (an hour's interval); a Redis timeout long enough for
  # a service slowed down by callgrind; the log goes to a file.
  hport=$(free_port)
  started=$(date +%s%N)
  env PORT="$hport" BIND=127.0.0.1 REDIS_URL="$1" THREADS=1 \
    REDIS_TIMEOUT_MS=10000 CLEANUP_INTERVAL_MS=3600000 CLIENT_TIMEOUT_MS=86400000 \
    valgrind --tool=callgrind --callgrind-out-file="$tmp/callgrind.out" \
    "$bin" > "$tmp/service.log" 2>&1 &
  spid=$!
  # Connections refused before it listens never reach a handler: exactly one
  # /livez is counted, however long start-up takes.
  ready=0
  for _ in $(seq 300); do
    if "$httpseq" "$hport" repeat GET /livez 1 200 > /dev/null 2>&1; then ready=1; break; fi
    kill -0 "$spid" 2> /dev/null || break
    sleep 0.1
  done
  [ $ready = 1 ] || { grep -v '^==' "$tmp/service.log" | tail -5; fail "the service did not start under callgrind"; }

  local pass extra=1
  for pass in ${2:+warm} counted; do
    if ! out=$("$httpseq" "$hport" guard "$rounds" 2>&1); then
      grep -v '"msg":"request"' "$tmp/service.log" | tail -20
      fail "the request sequence failed: $out"
    fi
    if [ "$pass" = warm ]; then
      callgrind_control -z "$spid" > /dev/null 2>&1 || fail "callgrind_control -z failed"
      extra=0 # the /livez of start-up is gone with the rest
    fi
  done
  requests=$(( $(sed -n 's/.*"requests": \([0-9]*\).*/\1/p' <<< "$out") + extra ))
  kill -TERM "$spid"
  wait "$spid" 2> /dev/null
  spid=""
  took=$(( ($(date +%s%N) - started) / 1000000 ))

  [ -n "${GUARD_KEEP:-}" ] && cp "$tmp/callgrind.out" "$GUARD_KEEP"
  total=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$tmp/callgrind.out" | tail -1)
  [ -n "$total" ] || total=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$tmp/callgrind.out" | tail -1)
  [ -n "$total" ] && [ "$total" -gt 0 ] || fail "no instruction count in the callgrind output"

  # Inclusive cost of each handler (api_*), for naming what grew.
  callgrind_annotate --inclusive=yes --threshold=100 "$tmp/callgrind.out" 2> /dev/null |
    sed -n 's/^ *\([0-9,]*\) ([^)]*) *[^:]*:\(api_[a-z_]*\) .*/\2 \1/p' | tr -d , |
    awk '$1 != "api_reply" && $1 != "api_reply_json" && !seen[$1]++' | sort > "$tmp/handlers"
}

if [ $cluster = 1 ]; then measure "redis://127.0.0.1:$rport/0" warm; else measure "redis://127.0.0.1:$rport/0"; fi
per_request=$(( total / requests ))
if [ $cluster = 1 ]; then
  cp "$tmp/handlers" "$tmp/handlers.standalone"
  standalone=$per_request
  cdir="$tmp/cluster"
  curl=$(scripts/redis-cluster.sh start "$cdir" 3 0 | sed -n 's/^REDIS_URL=//p')
  [ -n "$curl" ] || fail "the Redis Cluster did not start"
  measure "$curl" warm
  per_request=$(( total / requests ))
  echo "guard: $per_request instructions per request against a three-master cluster, $standalone against one server"
  # the handlers of one key, and the rest (which read every bucket, or none)
  join "$tmp/handlers.standalone" "$tmp/handlers" | awk '
    BEGIN { one["api_clients_create"] = one["api_clients_get"] = one["api_clients_heartbeat"] = 1
            one["api_images_get"] = one["api_images_put"] = one["api_clients_delete"] = 1 }
    $2 > 0 { printf "%s %s %d %d %+.1f\n", ($1 in one) ? "one" : "all", $1, $2, $3, ($3 - $2) * 100 / $2 }' |
    sort -k1,1r -k2,2 > "$tmp/compare"
  echo "  handler (inclusive instructions, the whole sequence)  one server -> cluster"
  awk '{ printf "  %-26s %12d -> %12d  %+6.1f%%%s\n", $2, $3, $4, $5, $1 == "one" ? "  (one key)" : "" }' "$tmp/compare" |
    grep -v ' +0.0%$'
  echo "guard: the handlers of one key pay the routing alone (a slot, a route, a deadline); the"
  echo "       others read every bucket (three nodes where there was one) or the cluster's state"
  exit 0
fi
if [ $write = 1 ]; then
  {
    printf '{\n  "instructions": %s,\n  "requests": %s,\n  "tolerance_pct": %s,\n' "$total" "$requests" "$tolerance"
    printf '  "valgrind": "%s",\n  "handlers": {\n' "$(valgrind --version)"
    awk '{ printf "%s    \"%s\": %s", (NR > 1) ? ",\n" : "", $1, $2 } END { print "" }' "$tmp/handlers"
    printf '  }\n}\n'
  } > "$baseline"
  echo "guard: wrote $baseline: $total instructions for $requests requests ($per_request per request), in ${took} ms"
  echo "1 passed, 0 failed"
  exit 0
fi

[ -f "$baseline" ] || fail "no $baseline (make bench-baseline)"
base=$(sed -n 's/^ *"instructions": *\([0-9]*\).*/\1/p' "$baseline")
base_requests=$(sed -n 's/^ *"requests": *\([0-9]*\).*/\1/p' "$baseline")
[ "$base_requests" = "$requests" ] ||
  fail "the sequence has $requests requests, the baseline $base_requests: make bench-baseline"
growth=$(awk -v t="$total" -v b="$base" 'BEGIN { printf "%+.1f", (t - b) * 100 / b }')
echo "guard: $total instructions for $requests requests ($per_request per request), baseline $base: ${growth}% (limit +${tolerance}%), in ${took} ms"
if awk -v t="$total" -v b="$base" -v p="$tolerance" 'BEGIN { exit !(t > b * (1 + p / 100)) }'; then
  echo "guard: the functions that grew most (inclusive instructions over the whole sequence):"
  while read -r name now; do
    was=$(sed -n "s/^ *\"$name\": *\([0-9]*\).*/\1/p" "$baseline")
    echo "$name $now ${was:-0}"
  done < "$tmp/handlers" |
    awk '{ d = $2 - $3; if (d > 0) printf "%d  %-28s %12d -> %12d  %s\n", d, $1, $3, $2, ($3 > 0) ? sprintf("%+.1f%%", d * 100 / $3) : "new" }' |
    sort -nr | head -12 | cut -d' ' -f3- | sed 's/^/  /'
  echo "guard: request handling costs ${growth}% more instructions than bench/baseline.json;"
  echo "       if that is meant, make bench-baseline and commit the new baseline saying why"
  echo "0 passed, 1 failed"
  exit 1
fi
echo "1 passed, 0 failed"
