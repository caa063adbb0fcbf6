#!/usr/bin/env bash
# make bench: every scenario of bench/README.md against the limit measured in
# the same run, one table, bench/results/latest.json. make soak: only the RSS
# run, for SECONDS (default 300).
#   bench/bench.sh             RTSTATE_BIN names the service (default build/rtstate)
#   bench/bench.sh --soak [SECONDS]
# Starts its own redis-server (TCP and a unix socket), the service and nginx,
# on free loopback ports, all under one temp dir, and stops them at the end.
# Knobs (environment): BENCH_SECONDS (each wrk run, 5), BENCH_LIMIT_SECONDS (each
# driver run, 3), BENCH_ROUNDS (endpoint/limit pairs per scenario, 3; the median
# counts), BENCH_ROUND_SECONDS (each endpoint run of a round, 3),
# BENCH_CONNECTIONS (wrk, 8), BENCH_WRK_THREADS (1),
# BENCH_PIPELINE (the pipelined limit's depth, 16), BENCH_RSS_SECONDS (45),
# BENCH_ONLY (some of: livez endpoints probes cleanup expiry rss).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${RTSTATE_BIN:-build/rtstate}")
tools=$(dirname "$bin")/bench
soak=0
if [ "${1:-}" = --soak ]; then soak=1; rss_seconds=${2:-300}; fi

run_s=${BENCH_SECONDS:-5}
limit_s=${BENCH_LIMIT_SECONDS:-3}
rounds=${BENCH_ROUNDS:-3}     # endpoint + limit runs per scenario; the median counts
round_s=${BENCH_ROUND_SECONDS:-3}
conns=${BENCH_CONNECTIONS:-8}
wrk_threads=${BENCH_WRK_THREADS:-1}
depth=${BENCH_PIPELINE:-16}
rss_seconds=${rss_seconds:-${BENCH_RSS_SECONDS:-45}}
frame=40000     # bytes of one frame ("40 kB")
nclients=10000  # registered webcam clients
nusers=1000     # online users
threads=$(( 2 * $(nproc) ))  # the service's default THREADS: its Redis connections

nginx=$(command -v nginx || echo /usr/sbin/nginx) # outside a non-root PATH
for t in wrk "$nginx" redis-server redis-cli "$bin" "$tools/redisbench" "$tools/httpseq"; do
  command -v "$t" > /dev/null || { echo "bench: $t missing (make bench installs and builds it)" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rtstate-bench-XXXXXX")
pids=()
svc=""
cleanup() {
  set +e
  [ -n "$svc" ] && kill -TERM "$svc" 2>/dev/null
  [ -f "$tmp/nginx.pid" ] && kill -QUIT "$(cat "$tmp/nginx.pid")" 2>/dev/null
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A port below the ephemeral range (so no outgoing connection holds it) that
# no socket of any state uses.
# shellcheck source=scripts/ports.sh
. scripts/ports.sh
wait_for() { # up to 10 s for a command to succeed
  for _ in $(seq 100); do "$@" > /dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}
jget() { sed -n "s/.*\"$1\": \([^,}]*\).*/\1/p" <<< "$2"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2> /dev/null || echo 0; }
now_ms() { local t=${EPOCHREALTIME/./}; echo $(( t / 1000 )); }

# ---- the machine: others' load makes every figure lower ----
busy_pct() { # CPU busy over one second, all cores
  local a b
  a=($(head -1 /proc/stat)); sleep 1; b=($(head -1 /proc/stat))
  local idle=$(( (b[4] + b[5]) - (a[4] + a[5]) )) total=0
  for i in 1 2 3 4 5 6 7 8; do total=$(( total + b[i] - a[i] )); done
  echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}
busy_before=$(busy_pct)
if [ "$busy_before" -gt 10 ]; then
  echo "bench: warning: the machine is ${busy_before}% busy before the bench starts; figures will be low" >&2
fi

# ---- Redis: one server, TCP and a unix socket ----
rport=$(free_port)
sock="$tmp/redis.sock"
redis-server --port "$rport" --bind 127.0.0.1 --unixsocket "$sock" --unixsocketperm 700 \
  --dir "$tmp" --save "" --appendonly no --daemonize no --logfile "$tmp/redis.log" &
rpid=$!
pids+=("$rpid")
wait_for redis-cli -s "$sock" ping || { echo "bench: redis-server did not start" >&2; exit 1; }
rcli() { redis-cli -s "$sock" "$@"; }
used_memory() { rcli info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p'; }

# ---- the service ----
hport=$(free_port)
base="http://127.0.0.1:$hport"
url() { # transport -> REDIS_URL
  if [ "$1" = unix ]; then echo "unix://$sock"; else echo "redis://127.0.0.1:$rport/0"; fi
}
start_service() { # transport [VAR=value ...]
  stop_service
  local transport=$1
  shift
  env PORT="$hport" BIND=127.0.0.1 REDIS_URL="$(url "$transport")" CLIENT_TIMEOUT_MS=86400000 \
    PRESENCE_TTL_S=3600 MAX_CONNECTIONS_PER_IP=0 "$@" "$bin" >> "$tmp/service.log" 2>&1 &
  svc=$!
  wait_for "$tools/httpseq" "$hport" repeat GET /readyz 1 200 ||
    { echo "bench: the service did not become ready; its log:" >&2; tail -20 "$tmp/service.log" >&2; exit 1; }
}
stop_service() {
  [ -n "$svc" ] || return 0
  kill -TERM "$svc" 2> /dev/null || true
  wait "$svc" 2> /dev/null || true
  svc=""
}
limit_args() { # transport -> the driver's connection flags
  if [ "$1" = unix ]; then echo "-s $sock"; else echo "-p $rport"; fi
}

# CPU time (us) per request of the service, of redis-server and of the load
# generator itself, added to a JSON line: on 2 cores they share, the three
# together bound what any run can reach.
add_cpu() { # json requests svc-ticks redis-ticks client-seconds
  awk -v o="$1" -v n="$2" -v s="$3" -v r="$4" -v c="$5" -v hz="$(getconf CLK_TCK)" 'BEGIN {
    sub(/}$/, "", o)
    printf "%s, \"service_us\": %.1f, \"redis_us\": %.1f, \"client_us\": %.1f}\n", o,
           n ? s * 1e6 / hz / n : 0, n ? r * 1e6 / hz / n : 0, n ? c * 1e6 / n : 0 }'
}
timed() { # command...: runs it, stdout to $tmp/out, its user+sys seconds to $tmp/cpu
  local TIMEFORMAT='%U %S'
  { time "$@" > "$tmp/out" 2> "$tmp/err" < /dev/null; } 2> "$tmp/time"
  awk '{ print $1 + $2 }' "$tmp/time" > "$tmp/cpu"
}
run_wrk() { # lua url [seconds]
  local s0 r0 s1 r1 out
  s0=$(cpu_ticks "$svc"); r0=$(cpu_ticks "$rpid")
  timed wrk -t"$wrk_threads" -c"$conns" -d"${3:-$run_s}s" -s "bench/lua/$1.lua" "$2"
  s1=$(cpu_ticks "$svc"); r1=$(cpu_ticks "$rpid")
  out=$(tail -1 "$tmp/out")
  add_cpu "$out" "$(jget requests "$out")" $((s1 - s0)) $((r1 - r0)) "$(cat "$tmp/cpu")"
}
run_limit() { # transport depth scenario [driver flags]: the service's connections, DEPTH in flight each
  local transport=$1 d=$2 r0 r1 out
  shift 2
  r0=$(cpu_ticks "$rpid")
  # shellcheck disable=SC2046
  timed "$tools/redisbench" $(limit_args "$transport") -c "$threads" -d "$d" -t "$limit_s" \
    -n "$nclients" -z "$frame" "$@"
  r1=$(cpu_ticks "$rpid")
  out=$(tail -1 "$tmp/out")
  add_cpu "$out" "$(jget ops "$out")" 0 $((r1 - r0)) "$(cat "$tmp/cpu")"
}

rows="$tmp/rows.tsv"     # scenario, redis transport, then JSON: wrk, the limit, pipelined
checks="$tmp/checks.tsv" # target value verdict detail
: > "$rows"
: > "$checks"
row() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >> "$rows"; }
check() { # name measured target ok(1/0) detail
  printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$( [ "$4" = 1 ] && echo ok || echo MISS)" "$5" >> "$checks"
}
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

start_all=$(date +%s)
echo "bench: redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'), $(nproc) cores, service THREADS=$threads, wrk -t$wrk_threads -c$conns, ${run_s} s a run" >&2

# ---- data, through the API; and Redis memory per client ----
start_service unix
mem0=$(used_memory)
"$tools/httpseq" "$hport" clients cam- 0 "$nclients" > /dev/null
mem1=$(used_memory)
"$tools/httpseq" "$hport" frames cam- 0 "$nclients" "$frame" > /dev/null
mem2=$(used_memory)
"$tools/httpseq" "$hport" presence user- 0 "$nusers" > /dev/null
per_client=$(( (mem2 - mem0) / nclients ))
mem_ratio=$(awk -v a="$per_client" -v f="$frame" 'BEGIN { printf "%.3f", a / f }')
check "Redis memory per client with a ${frame}-byte frame" "$per_client B = ${mem_ratio} x frame" \
  "<= 1.05 x frame" "$(le "$mem_ratio" 1.05 && echo 1 || echo 0)" \
  "client alone $(( (mem1 - mem0) / nclients )) B, frame hash $(( (mem2 - mem1) / nclients )) B (INFO memory used_memory before and after)"

# ---- RSS over a mixed run ----
rss_kb() { sed -n 's/^VmRSS:[^0-9]*\([0-9]*\).*/\1/p' "/proc/$svc/status"; }
rss_run() { # seconds
  local secs=$1 warm samples=() i
  warm=$(( secs / 5 > 10 ? secs / 5 : 10 ))
  echo "bench: RSS over a ${secs} s mixed run (the first ${warm} s warm up)" >&2
  wrk -t"$wrk_threads" -c"$conns" -d"$((secs + warm))s" -s bench/lua/mixed.lua "http://127.0.0.1:$hport" > "$tmp/mixed.out" &
  local w=$!
  pids+=("$w")
  sleep "$warm"
  for (( i = 0; i <= secs; i += 5 )); do
    samples+=("$(rss_kb)")
    if [ "$i" -lt "$secs" ]; then sleep 5; fi
  done
  wait "$w" || true
  local line
  line=$(printf '%s\n' "${samples[@]}" | awk '
    NR == 1 { first = $1; min = $1; max = $1 }
    { if ($1 < min) min = $1; if ($1 > max) max = $1; last = $1 }
    END {
      dev = (max - first > first - min ? max - first : first - min) / first * 100
      printf "%d %d %d %d %.1f", first, min, max, last, dev }')
  read -r first min max last dev <<< "$line"
  local mixed
  mixed=$(tail -1 "$tmp/mixed.out")
  check "service RSS over a ${secs} s mixed run" "${first} -> ${last} kB (min ${min}, max ${max}): +-${dev}%" \
    "+-5 %" "$(le "$dev" 5 && echo 1 || echo 0)" \
    "$(jget rps "$mixed") req/s, $(jget errors "$mixed") errors; samples every 5 s: ${samples[*]}"
}

if [ "$soak" = 1 ]; then
  rss_run "$rss_seconds"
  stop_service
  echo
  awk -F'\t' '{ printf "%-5s %-52s %-44s target %s\n      %s\n", $4, $1, $2, $3, $5 }' "$checks"
  exit 0
fi

# ---- warm-up: every worker's Redis connection, scripts loaded, pages faulted in ----
for lua in heartbeat image put; do
  wrk -t"$wrk_threads" -c"$conns" -d2s -s "bench/lua/$lua.lua" "http://127.0.0.1:$hport" > /dev/null
done

# ---- 1. /livez against nginx serving a small static file ----
section_livez() {
  nport=$(free_port)
  mkdir -p "$tmp/www"
  printf '{"status":"pass"}' > "$tmp/www/livez"
  cat > "$tmp/nginx.conf" <<EOF
  worker_processes auto;
  daemon on;
  pid $tmp/nginx.pid;
  error_log $tmp/nginx-error.log;
  events { worker_connections 1024; }
  http {
    access_log $tmp/nginx-access.log;
    client_body_temp_path $tmp/nginx-body;
    proxy_temp_path $tmp/nginx-proxy;
    fastcgi_temp_path $tmp/nginx-fastcgi;
    uwsgi_temp_path $tmp/nginx-uwsgi;
    scgi_temp_path $tmp/nginx-scgi;
    keepalive_requests 1000000;
    default_type application/json;
    server { listen 127.0.0.1:$nport; root $tmp/www; }
  }
EOF
  "$nginx" -c "$tmp/nginx.conf" -p "$tmp" -e "$tmp/nginx-error.log"
  wait_for bash -c "exec 3<>/dev/tcp/127.0.0.1/$nport" || { echo "bench: nginx did not start" >&2; exit 1; }
  echo "bench: 1 /livez against nginx" >&2
  livez=$(run_wrk path "http://127.0.0.1:$hport/livez")
  timed wrk -t"$wrk_threads" -c"$conns" -d"${run_s}s" -s bench/lua/path.lua "http://127.0.0.1:$nport/livez"
  static=$(tail -1 "$tmp/out")
  static=$(add_cpu "$static" "$(jget requests "$static")" 0 0 "$(cat "$tmp/cpu")")
  kill -QUIT "$(cat "$tmp/nginx.pid")"
  rm -f "$tmp/nginx.pid"
  row "GET /livez (limit: nginx static file)" - "$livez" "$static" ""
  livez_ratio=$(awk -v a="$(jget rps "$livez")" -v b="$(jget rps "$static")" 'BEGIN { printf "%.2f", b ? a / b : 0 }')
  check "/livez vs nginx static file" "$livez_ratio" ">= 0.80" "$(le 0.80 "$livez_ratio" && echo 1 || echo 0)" \
    "nginx $(jget rps "$static") req/s, p99 $(jget p99_ms "$static") ms"
}

# ---- 2-5. Redis-backed endpoints, over each transport, against their commands run bare ----
section_endpoints() {
  for transport in unix tcp; do
    echo "bench: 2-5 Redis-backed endpoints, Redis over $transport" >&2
    [ "$transport" = unix ] || start_service "$transport"
    [ "$transport" = unix ] || wrk -t"$wrk_threads" -c"$conns" -d2s -s bench/lua/heartbeat.lua "$base" > /dev/null
    # name | wrk script | URL | driver scenario and flags
    while IFS='|' read -r name lua path scen; do
      # ROUNDS times the endpoint then its limit, alternated, so that a burst
      # of other load on the machine lowers one round, not the verdict: the
      # row and the ratio are the round with the median ratio.
      local outs=() l1s=() lps=() ratios=() k
      for (( k = 0; k < rounds; k++ )); do
        outs[k]=$(run_wrk "$lua" "$base$path" "$round_s")
        # shellcheck disable=SC2086
        l1s[k]=$(run_limit "$transport" 1 $scen)
        # shellcheck disable=SC2086
        lps[k]=$(run_limit "$transport" "$depth" $scen)
        ratios[k]=$(awk -v a="$(jget rps "${outs[k]}")" -v b="$(jget rps "${l1s[k]}")" 'BEGIN { printf "%.2f", b ? a / b : 0 }')
      done
      k=$(for i in "${!ratios[@]}"; do echo "${ratios[i]} $i"; done | sort -n | awk -v m=$(( rounds / 2 )) 'NR == m + 1 { print $2 }')
      out=${outs[k]} l1=${l1s[k]} lp=${lps[k]} ratio=${ratios[k]}
      row "$name" "$transport" "$out" "$l1" "$lp"
      check "$name, redis over $transport" "$ratio of its commands bare" ">= 0.70" \
        "$(le 0.70 "$ratio" && echo 1 || echo 0)" \
        "rounds: ${ratios[*]}; CPU us per request: service $(jget service_us "$out") + redis $(jget redis_us "$out") + wrk $(jget client_us "$out"); bare: redis $(jget redis_us "$l1") + driver $(jget client_us "$l1")"
    done <<EOF
POST /clients/{id}/heartbeat|heartbeat||heartbeat
GET /clients/{id}|client||client
GET /clients/{id}/image (40 kB)|image||image
PUT /clients/{id}/image (40 kB)|put||put
GET /online-users?limit=1000|path|/online-users?limit=1000|-l $nusers presence
GET /redis/stats|path|/redis/stats|stats
EOF
  done
  start_service unix
}

# ---- 6. probes at 1000 req/s while the heartbeat load runs ----
section_probes() {
  echo "bench: 6 probes under the heartbeat load" >&2
  wrk -t"$wrk_threads" -c"$conns" -d"$((2 * run_s + 4))s" -s bench/lua/heartbeat.lua "$base" > "$tmp/hb.out" &
  w=$!
  pids+=("$w")
  sleep 1
  for probe in /readyz /health; do
    out=$("$tools/httpseq" "$hport" probe "$probe" 1000 "$run_s" || true)
    row "GET $probe at 1000/s under heartbeat load" unix "$out" "" ""
    [ "$probe" = /health ] || check "/readyz p99 under the heartbeat load" "$(jget p99_ms "$out") ms" "< 5 ms" \
      "$(le "$(jget p99_ms "$out")" 4.999 && echo 1 || echo 0)" \
      "p99.9 $(jget p999_ms "$out") ms at $(jget rps "$out") req/s"
  done
  wait "$w" || true
  row "  (the heartbeat load meanwhile)" unix "$(tail -1 "$tmp/hb.out")" "" ""
}

# ---- cleanup pass: 100 000 clients, none expired ----
section_cleanup() {
  echo "bench: cleanup pass over 100 000 clients" >&2
  "$tools/redisbench" -s "$sock" load-clients idle- 0 $(( 100000 - nclients )) > /dev/null
  out=$("$tools/httpseq" "$hport" repeat POST /admin/cleanup 50 200)
  check "cleanup pass, 100 000 clients, none expired" "p50 $(jget p50_ms "$out") ms, max $(jget max_ms "$out") ms" \
    "< 5 ms" "$(le "$(jget max_ms "$out")" 4.999 && echo 1 || echo 0)" \
    "POST /admin/cleanup x50 (HTTP round trip included), $(rcli scard clients) clients registered"
}

# ---- cleanup pass: 10 000 clients expiring at once, under load ----
section_expiry() {
  echo "bench: 10 000 clients expiring at once ($rounds rounds)" >&2
  interval=1000 timeout=3000
  rcli flushall > /dev/null
  start_service unix CLIENT_TIMEOUT_MS=$timeout CLEANUP_INTERVAL_MS=$interval
  "$tools/redisbench" -s "$sock" load-clients live- 0 1000 > /dev/null
  export BENCH_PREFIX=live- BENCH_IDS=1000
  rcli config set slowlog-log-slower-than 200 > /dev/null
  rcli slowlog reset > /dev/null
  # ROUNDS times: heartbeats alone, then heartbeats while 10 000 others
  # expire; each round's p99 against its own "before", the median counts
  local befores=() durings=() tooks=() ratios=() k
  for (( k = 0; k < rounds; k++ )); do
    befores[k]=$(run_wrk heartbeat "$base" "$round_s")
    # registered $((timeout - 1000)) ms ago: they all expire 1 s from now
    expire_at=$(( $(now_ms) + 1000 ))
    "$tools/redisbench" -s "$sock" -a $((timeout - 1000)) load-clients "doomed$k-" 0 10000 > /dev/null
    wrk -t"$wrk_threads" -c"$conns" -d"${run_s}s" -s bench/lua/heartbeat.lua "$base" > "$tmp/during.out" &
    w=$!
    pids+=("$w")
    # one redis-cli polling every 20 ms (a process per poll would load the machine)
    gone=$(rcli -r 400 -i 0.02 scard clients | while read -r n; do
      if [ "$n" -le 1000 ]; then now_ms; break; fi
    done || true)
    wait "$w" || true
    durings[k]=$(tail -1 "$tmp/during.out")
    tooks[k]=$([ -n "$gone" ] && echo $(( gone - expire_at )) || echo 99999)
    ratios[k]=$(awk -v a="$(jget p99_ms "${durings[k]}")" -v b="$(jget p99_ms "${befores[k]}")" 'BEGIN { printf "%.2f", b ? a / b : 99 }')
  done
  unset BENCH_PREFIX BENCH_IDS
  k=$(for i in "${!ratios[@]}"; do echo "${ratios[i]} $i"; done | sort -n | awk -v m=$(( rounds / 2 )) 'NR == m + 1 { print $2 }')
  before=${befores[k]} during=${durings[k]}
  took=$(printf '%s\n' "${tooks[@]}" | sort -n | tail -1) # every round must make it
  # the longest the reaper held Redis: what a request could wait behind it
  # (median and longest script call over 0.2 ms; a busy machine stretches the longest)
  stall=$(rcli --json slowlog get 10000 | grep -oE '\[[0-9]+,[0-9]+,[0-9]+,\["(evalsha|EVALSHA)"' |
    awk -F'[][,]' '{ print $4 / 1000 }' | sort -n |
    awk '{ v[NR] = $1 } END { printf "%d calls, median %.2f ms, longest %.2f ms", NR, v[int((NR + 1) / 2)], v[NR] }')
  rcli config set slowlog-log-slower-than 10000 > /dev/null
  row "heartbeat, 1000 live clients, before" unix "$before" "" ""
  row "  same, while 10 000 others expire" unix "$during" "" ""
  check "10 000 expiring at once: all removed" "${took} ms after they expired (slowest round)" \
    "<= $((2 * interval)) ms (two intervals)" "$([ "$took" -le $((2 * interval)) ] && echo 1 || echo 0)" \
    "rounds: ${tooks[*]} ms; CLEANUP_INTERVAL_MS=$interval, CLIENT_TIMEOUT_MS=$timeout"
  check "requests keep their p99 meanwhile" "p99 $(jget p99_ms "$during") ms (before $(jget p99_ms "$before") ms)" \
    "<= 1.5 x before" "$(le "${ratios[k]}" 1.5 && echo 1 || echo 0)" \
    "rounds: ${ratios[*]} x; p99.9 $(jget p999_ms "$during") ms (before $(jget p999_ms "$before") ms), errors $(jget errors "$during"); script calls over 0.2 ms meanwhile (SLOWLOG, all rounds): ${stall}"
  rcli flushall > /dev/null
}

# ---- RSS: a short mixed run (make soak: 5 minutes) ----
section_rss() {
  rcli flushall > /dev/null
  start_service unix
  "$tools/httpseq" "$hport" clients cam- 0 "$nclients" > /dev/null
  "$tools/httpseq" "$hport" frames cam- 0 "$nclients" "$frame" > /dev/null
  "$tools/httpseq" "$hport" presence user- 0 "$nusers" > /dev/null
  rss_run "$rss_seconds"
  stop_service
}

for section in livez endpoints probes cleanup expiry rss; do
  if [ -z "${BENCH_ONLY:-}" ] || [[ " $BENCH_ONLY " == *" $section "* ]]; then "section_$section"; fi
done

busy_after=$(busy_pct)
elapsed=$(( $(date +%s) - start_all ))

# ---- the table, and latest.json ----
table=$(awk -F'\t' '
  function j(s, k,   m) { if (match(s, "\"" k "\": [^,}]*")) { m = substr(s, RSTART, RLENGTH); sub(/^[^:]*: /, "", m); return m } return "" }
  function us(v) { return v == "" ? "-" : sprintf("%.1f", v) }
  BEGIN {
    printf "%-44s %-5s %8s %7s %7s %7s %6s %6s %6s %6s %8s %5s %8s %5s\n", "scenario", "redis", "req/s", "p50 ms", "p99 ms", "p99.9", "errors", "svc us", "rds us", "wrk us", "limit/s", "ratio", "piped/s", "ratio"
  }
  {
    rps = j($3, "rps"); l = j($4, "rps"); p = j($5, "rps")
    printf "%-44s %-5s %8.0f %7.3f %7.3f %7.3f %6d %6s %6s %6s %8s %5s %8s %5s\n", $1, $2, rps, j($3, "p50_ms"), j($3, "p99_ms"), j($3, "p999_ms"), j($3, "errors"), us(j($3, "service_us")), us(j($3, "redis_us")), us(j($3, "client_us")), (l == "") ? "-" : sprintf("%.0f", l), (l > 0) ? sprintf("%.2f", rps / l) : "-", (p == "") ? "-" : sprintf("%.0f", p), (p > 0) ? sprintf("%.2f", rps / p) : "-"
  }' "$rows")
echo
echo "$table"
echo
echo "limit/s: the endpoint's own Redis commands run bare by bench/redisbench over the service's $threads connections, one request's commands in flight on each (the service's shape); piped/s: $depth in flight on each (Redis's own ceiling); for /livez, nginx serving the same body from a file. svc, rds, wrk us: CPU time per request of the service, redis-server and wrk, which share the $(nproc) cores."
echo
awk -F'\t' '{ printf "%-5s %-46s %-42s target %s\n      %s\n", $4, $1, $2, $3, $5 }' "$checks"
echo
echo "bench: ${elapsed} s; the machine was ${busy_before}% busy before and ${busy_after}% after (other processes lower every figure)"

mkdir -p bench/results
out_json=bench/results/latest.json
[ -z "${BENCH_ONLY:-}" ] || out_json=bench/results/partial.json # a part never replaces a full run
awk -F'\t' -v rowsfile="$rows" -v threads="$threads" -v depth="$depth" -v conns="$conns" \
  -v cores="$(nproc)" -v date="$(date -u +%Y-%m-%dT%H:%M:%SZ)" -v elapsed="$elapsed" \
  -v busy0="$busy_before" -v busy1="$busy_after" -v commit="$(git rev-parse --short HEAD 2> /dev/null || echo unknown)" '
  function q(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return "\"" s "\"" }
  function obj(s) { return s == "" ? "null" : s }
  BEGIN {
    printf "{\n  \"date\": %s, \"commit\": %s, \"cores\": %d, \"seconds\": %d,\n", q(date), q(commit), cores, elapsed
    printf "  \"machine_busy_pct\": {\"before\": %d, \"after\": %d},\n", busy0, busy1
    printf "  \"service_threads\": %d, \"wrk_connections\": %d, \"pipeline_depth\": %d,\n  \"scenarios\": [\n", threads, conns, depth
    n = 0
    while ((getline line < rowsfile) > 0) {
      split(line, f, "\t")
      printf "%s    {\"scenario\": %s, \"redis\": %s, \"http\": %s, \"limit\": %s, \"pipelined\": %s}", (n++ > 0) ? ",\n" : "", q(f[1]), q(f[2]), f[3], obj(f[4]), obj(f[5])
    }
    printf "\n  ],\n  \"targets\": [\n"
  }
  { printf "%s    {\"target\": %s, \"measured\": %s, \"goal\": %s, \"ok\": %s, \"detail\": %s}", (NR > 1) ? ",\n" : "", q($1), q($2), q($3), $4 == "ok" ? "true" : "false", q($5) }
  END { printf "\n  ]\n}\n" }' "$checks" > "$out_json"
echo "bench: wrote $out_json"
