#!/usr/bin/env bash
# make bench-async: the three designs of bench/async_proto.c (A blocking pool,
# B one Redis I/O thread, C event loops with coroutines) under wrk -t1 -c32,
# alternated for ROUNDS (3) runs of SECONDS (4) against a real redis-server;
# then strace -c of each design, and the coroutine switch timed with the
# x86_64 switch and with glibc's swapcontext. Prints one line per run: req/s,
# CPU us per request of the server and of Redis, Redis reads and commands per
# request (INFO stats).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${PROTO_DIR:-build/bench}
rounds=${ROUNDS:-3}
secs=${SECONDS_EACH:-4}
conns=${CONNECTIONS:-32}
hz=$(getconf CLK_TCK)
# shellcheck source=scripts/ports.sh
. scripts/ports.sh
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rtstate-async-XXXXXX")
pid="" rpid=""
cleanup() {
  [ -z "$pid" ] || kill "$pid" 2> /dev/null || true
  [ -z "$rpid" ] || kill "$rpid" 2> /dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
rport=$(free_port)
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" \
  --daemonize no > "$tmp/redis.log" 2>&1 &
rpid=$!
for _ in $(seq 50); do redis-cli -p "$rport" ping > /dev/null 2>&1 && break; sleep 0.1; done
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
stat() { redis-cli -p "$rport" info stats | tr -d '\r' | awk -F: -v k="$1" '$1 == k { print $2 }'; }
start() {
  port=$(free_port)
  "$dir/async_proto" "$1" "$port" "$rport" &
  pid=$!
  for _ in $(seq 50); do (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null && break; sleep 0.1; done
  wrk -t1 -c"$conns" -d1s "http://127.0.0.1:$port/" > /dev/null
}
stop() { kill "$pid"; wait "$pid" 2> /dev/null || true; pid=""; }
for (( r = 1; r <= rounds; r++ )); do
  for mode in ${MODES:-A B C D}; do
    start "$mode"
    s0=$(ticks "$pid") r0=$(ticks "$rpid") rd0=$(stat total_reads_processed) c0=$(stat total_commands_processed)
    out=$(wrk -t1 -c"$conns" -d"${secs}s" "http://127.0.0.1:$port/")
    s1=$(ticks "$pid") r1=$(ticks "$rpid") rd1=$(stat total_reads_processed) c1=$(stat total_commands_processed)
    stop
    n=$(awk '/requests in/ { print $1 }' <<< "$out")
    rps=$(awk '/Requests\/sec/ { printf "%.0f", $2 }' <<< "$out")
    p50=$(awk '/Latency/ { print $2 }' <<< "$out")
    awk -v r="$r" -v m="$mode" -v rps="$rps" -v n="$n" -v hz="$hz" -v s=$((s1 - s0)) -v rs=$((r1 - r0)) \
        -v rd=$((rd1 - rd0 - 2)) -v c=$((c1 - c0 - 2)) -v lat="$p50" 'BEGIN {
      printf "round %d  %s  %7d req/s  latency avg %-8s server %5.1f us/rq  redis %5.1f us/rq  reads/rq %.2f  cmds/rq %.2f\n",
        r, m, rps, lat, s * 1e6 / hz / n, rs * 1e6 / hz / n, rd / n, c / n }'
  done
done
echo "system calls per request (strace -f -c, ${secs}s each; strace slows the server, so counts only):"
for mode in ${MODES:-A B C D}; do
  start "$mode"
  strace -f -c -o "$tmp/strace.$mode" -p "$pid" 2> /dev/null &
  spid=$!
  sleep 0.5
  out=$(wrk -t1 -c"$conns" -d"${secs}s" "http://127.0.0.1:$port/")
  kill -INT "$spid" 2> /dev/null || true
  wait "$spid" 2> /dev/null || true
  stop
  n=$(awk '/requests in/ { print $1 }' <<< "$out")
  echo "  $mode ($n requests):"
  awk -v n="$n" '$NF ~ /^[a-z_0-9]+$/ && $4 ~ /^[0-9]+$/ && $NF != "total" {
      printf "    %-16s %6.2f per request\n", $NF, $4 / n }' "$tmp/strace.$mode" | sort -k2 -rn | head -12
done
echo "coroutine switch:"
printf '  x86_64 switch:  '; "$dir/async_proto" switch 10000000
printf '  swapcontext:    '; "$dir/async_proto_uc" switch 10000000
