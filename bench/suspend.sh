#!/usr/bin/env bash
# make bench-suspend: what libmicrohttpd's suspend/resume costs per request
# (bench/suspend.c), answered at once against suspended and resumed by
# another thread, alternated for ROUNDS (3) runs of 5 s under wrk -c8.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${SUSPEND_BIN:-build/bench/suspend}
rounds=${ROUNDS:-3}
hz=$(getconf CLK_TCK)
# shellcheck source=scripts/ports.sh
. scripts/ports.sh
pid=""
trap '[ -z "$pid" ] || kill "$pid" 2> /dev/null || true' EXIT
for (( r = 1; r <= rounds; r++ )); do
  for mode in 0 1; do
    port=$(free_port)
    "$bin" "$mode" "$port" &
    pid=$!
    for _ in $(seq 50); do (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null && break; sleep 0.1; done
    wrk -t1 -c8 -d1s "http://127.0.0.1:$port/" > /dev/null
    t0=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
    out=$(wrk -t1 -c8 -d5s "http://127.0.0.1:$port/")
    t1=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
    kill "$pid"
    wait "$pid" 2> /dev/null || true
    pid=""
    n=$(awk '/requests in/ { print $1 }' <<< "$out")
    rps=$(awk '/Requests\/sec/ { printf "%.0f", $2 }' <<< "$out")
    label=$([ "$mode" = 0 ] && echo "answered at once " || echo "suspended+resumed")
    echo "round $r, $label: $rps req/s, $(awk -v t=$((t1 - t0)) -v n="$n" -v hz="$hz" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }') us of CPU per request"
  done
done
