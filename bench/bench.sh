#!/usr/bin/env bash
# make bench: every scenario of bench/README.md side by side with its peers
# (Webdis serving the same data with its one command, nginx serving a file)
# and its limit (the cheapest plain Redis commands that give the same answer),
# measured in the same run; one table, bench/results/latest.json.
# make soak: only the RSS run, for SECONDS (default 300).
#   bench/bench.sh             RTSTATE_BIN names the service (default build/rtstate)
#   bench/bench.sh --soak [SECONDS]
# Starts its own redis-server (TCP and a unix socket), the service, webdis and
# nginx, on free loopback ports, all under one temp dir, and stops them at the end.
# Knobs (environment): BENCH_SECONDS (each wrk run, 4), BENCH_LIMIT_SECONDS (each
# driver run, 3 at most), BENCH_ROUNDS (runs of each side of a scenario,
# alternated, 3; the median round counts), BENCH_ROUND_SECONDS (BENCH_SECONDS),
# BENCH_CONNECTIONS (wrk and the open-loop runs of the side-by-side sections, 32),
# BENCH_OTHER_CONNECTIONS (wrk in the probes, expiry and RSS sections, 8), BENCH_WRK_THREADS (1),
# BENCH_PIPELINE (the pipelined limit's depth, 16), BENCH_RSS_SECONDS (45),
# BENCH_MODES (the Redis set-ups of the side-by-side sections: tcp, unix, cluster;
# "tcp cluster"; cluster compares with tcp, so tcp should come first),
# BENCH_SCENARIOS (which of them: livez heartbeat client image put online stats),
# BENCH_WEBDIS_POOL (webdis's Redis connections per thread, 1),
# BENCH_ONLY (some of: livez endpoints probes cleanup expiry rss events).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${RTSTATE_BIN:-build/rtstate}")
tools=$(dirname "$bin")/bench
soak=0
if [ "${1:-}" = --soak ]; then soak=1; rss_seconds=${2:-300}; fi

run_s=${BENCH_SECONDS:-4}
limit_s=${BENCH_LIMIT_SECONDS:-$(( run_s < 3 ? run_s : 3 ))}
rounds=${BENCH_ROUNDS:-3}     # runs of each side per scenario; the median round counts
round_s=${BENCH_ROUND_SECONDS:-$run_s}
side_conns=${BENCH_CONNECTIONS:-32}   # the side-by-side sections (issue 13: wrk -t1 -c32)
conns=${BENCH_OTHER_CONNECTIONS:-8}    # probes, expiry, RSS: what their targets were set with
wrk_threads=${BENCH_WRK_THREADS:-1}
depth=${BENCH_PIPELINE:-16}
rss_seconds=${rss_seconds:-${BENCH_RSS_SECONDS:-45}}
modes=${BENCH_MODES:-tcp cluster}
webdis_pool=${BENCH_WEBDIS_POOL:-1}
frame=40000     # bytes of one frame ("40 kB")
nclients=10000  # registered webcam clients
nusers=1000     # online users
threads=$(( 2 * $(nproc) ))  # webdis's threads and the limit's connections (the service's former workers)
loops=$(nproc)               # the service's default THREADS: one event loop per core

nginx=$(command -v nginx || echo /usr/sbin/nginx) # outside a non-root PATH
for t in wrk "$nginx" webdis curl redis-server redis-cli "$bin" "$tools/redisbench" "$tools/httpseq"; do
  command -v "$t" > /dev/null || { echo "bench: $t missing (make bench installs and builds it)" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rtstate-bench-XXXXXX")
pids=()
svc=""
wdpid=""
cluster_dir=""
cleanup() {
  set +e
  [ -n "$cluster_dir" ] && scripts/redis-cluster.sh stop "$cluster_dir"
  [ -n "$svc" ] && kill -TERM "$svc" 2>/dev/null
  [ -n "$wdpid" ] && kill -TERM "$wdpid" 2>/dev/null
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
ticks() { # pids... -> their CPU ticks, all threads of each
  local t=0 p
  for p in "$@"; do t=$(( t + $(cpu_ticks "$p") )); done
  echo "$t"
}
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
# sum_keys PATTERN WORD...: the sum of the integer answers of the command
# WORD... (the word KEY standing for the key) over the keys matching PATTERN
# (one per bucket for an index)
sum_keys() {
  local pattern=$1 k w argv
  shift
  rcli --scan --pattern "$pattern" | while read -r k; do
    argv=()
    for w in "$@"; do if [ "$w" = KEY ]; then argv+=("$k"); else argv+=("$w"); fi; done
    rcli "${argv[@]}"
  done | awk '{ s += $1 } END { print s + 0 }'
}
# every bucket's clients:{b} (keys.h): the clients registered
clients_registered() { sum_keys '*clients:{*' zcard KEY; }
used_memory() { rcli info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p'; }
# the event streams' bytes (events:{b}, store/events.h): a ring of at most
# EVENTS_RETAIN_PER_BUCKET entries per bucket, whatever the number of clients
streams_memory() { sum_keys '*events:{*' memory usage KEY samples 0; }

# ---- the service: at its defaults, but for the lifetimes that keep the data set alive ----
hport=$(free_port)
base="http://127.0.0.1:$hport"
url() { # unix, tcp or a REDIS_URL -> REDIS_URL
  case $1 in
    unix) echo "unix://$sock" ;;
    tcp) echo "redis://127.0.0.1:$rport/0" ;;
    *) echo "$1" ;;
  esac
}
start_service() { # transport-or-URL [VAR=value ...]
  stop_service
  local transport=$1
  shift
  env PORT="$hport" BIND=127.0.0.1 REDIS_URL="$(url "$transport")" CLIENT_TIMEOUT_MS=86400000 \
    PRESENCE_TTL_S=3600 "$@" "$bin" >> "$tmp/service.log" 2>&1 &
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

# ---- what a run cost ----
# The Redis nodes of the set-up being measured: redis-server pids (CPU) and
# redis-cli flags (INFO). Standalone: the one server; a mode may change them.
redis_pids=("$rpid")
redis_nodes=("-s $sock")
redis_counters() { # -> "commands reads name=calls ...", summed over the nodes
  local node
  for node in "${redis_nodes[@]}"; do
    # shellcheck disable=SC2086
    redis-cli $node INFO stats commandstats
  done | tr -d '\r' | awk -F'[:,=]' '
    $1 == "total_commands_processed" { c += $2 }
    $1 == "total_reads_processed" { r += $2 }
    $1 ~ /^cmdstat_/ { sub(/^cmdstat_/, "", $1); calls[$1] += $3 }
    END { printf "%d %d", c, r; for (k in calls) printf " %s=%d", k, calls[k]; print "" }'
}
# Adds to a run's JSON line what it cost per request: CPU time (us) of the
# server (the HTTP server measured: the service, webdis or nginx), of Redis and
# of the load generator (on 2 cores they share, the three together bound what
# any run can reach); Redis's commands and reads (INFO stats: a read is one
# read(2) of a client's socket, so under 1 a request means requests shared
# them), and its calls by command (INFO commandstats; commands a script
# runs count there too).
add_costs() { # json requests server-ticks redis-ticks client-seconds counters-before counters-after busy-ticks
  awk -v o="$1" -v n="$2" -v s="$3" -v r="$4" -v c="$5" -v a="$6" -v b="$7" -v busy="$8" \
    -v nodes="${#redis_nodes[@]}" -v hz="$(getconf CLK_TCK)" 'BEGIN {
    sub(/}$/, "", o)
    na = split(a, x, " "); nb = split(b, y, " ")
    for (i = 3; i <= na; i++) { split(x[i], kv, "="); before[kv[1]] = kv[2] }
    calls = ""; m = 0
    for (i = 3; i <= nb; i++) {
      split(y[i], kv, "=")
      d = kv[2] - before[kv[1]]
      if (kv[1] == "info") d -= nodes # our own INFO
      if (d > 0 && n > 0 && d / n >= 0.005) { name[++m] = kv[1]; per[m] = d / n }
    }
    for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++)
      if (per[j] > per[i]) { t = per[i]; per[i] = per[j]; per[j] = t; t = name[i]; name[i] = name[j]; name[j] = t }
    for (i = 1; i <= m && i <= 6; i++) calls = calls sprintf("%s%s %.2f", i > 1 ? " " : "", name[i], per[i])
    printf "%s, \"requests_counted\": %d", o, n
    if (s != "") printf ", \"server_us\": %.1f", n ? s * 1e6 / hz / n : 0
    printf ", \"redis_us\": %.1f, \"client_us\": %.1f", n ? r * 1e6 / hz / n : 0, n ? c * 1e6 / n : 0
    # the rest of the CPU the machine spent meanwhile: other processes (the noise)
    other = n ? (busy - s - r) * 1e6 / hz / n - c * 1e6 / n : 0
    printf ", \"other_us\": %.1f", other < 0 ? 0 : other
    printf ", \"redis_cmds\": %.2f, \"redis_reads\": %.2f, \"redis_calls\": \"%s\"}\n",
      n ? (y[1] - x[1] - nodes) / n : 0, n ? (y[2] - x[2] - nodes) / n : 0, calls }'
}
busy_ticks() { awk '{ print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; } # all cores, not idle
timed() { # command...: runs it, stdout to $tmp/out, its user+sys seconds to $tmp/cpu
  local TIMEFORMAT='%U %S'
  { time "$@" > "$tmp/out" 2> "$tmp/err" < /dev/null || true; } 2> "$tmp/time"
  awk '{ print $1 + $2 }' "$tmp/time" > "$tmp/cpu"
}
# measure [SERVER_PID...] -- COMMAND...: runs the load COMMAND (wrk, httpseq or
# redisbench: each ends with a JSON line) and prints that line with its costs.
# No SERVER_PID: there is no HTTP server (the driver talks to Redis).
measure() {
  local server=() s0="" s1="" r0 r1 c0 c1 b0 b1 out n
  while [ "$1" != -- ]; do server+=("$1"); shift; done
  shift
  sleep 0.2 # the previous run's last requests finish (a 1 000-user page takes ms of Redis)
  c0=$(redis_counters)
  [ ${#server[@]} -eq 0 ] || s0=$(ticks "${server[@]}")
  r0=$(ticks "${redis_pids[@]}")
  b0=$(busy_ticks)
  timed "$@"
  b1=$(busy_ticks)
  r1=$(ticks "${redis_pids[@]}")
  [ ${#server[@]} -eq 0 ] || s1=$(ticks "${server[@]}")
  c1=$(redis_counters)
  out=$(tail -1 "$tmp/out")
  case $out in
    \{*) ;;
    *) echo "bench: $1 printed no result; its errors:" >&2; tail -5 "$tmp/err" >&2; exit 1 ;;
  esac
  n=$(jget requests "$out"); [ -n "$n" ] || n=$(jget ops "$out")
  add_costs "$out" "$n" "$([ -z "$s0" ] || echo $((s1 - s0)))" $((r1 - r0)) "$(cat "$tmp/cpu")" "$c0" "$c1" $((b1 - b0))
}
run_wrk() { # lua url [seconds]: the service under wrk
  measure "$svc" -- wrk -t"$wrk_threads" -c"$conns" -d"${3:-$run_s}s" -s "bench/lua/$1.lua" "$2"
}

rows="$tmp/rows.tsv"     # scenario, redis set-up, then JSON: rtstate, webdis, nginx, limit, pipelined, half peak
checks="$tmp/checks.tsv" # target value verdict detail
: > "$rows"
: > "$checks"
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4:-}" "${5:-}" "${6:-}" "${7:-}" "${8:-}" >> "$rows"; }
check() { # name measured target ok(1/0) detail
  printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$( [ "$4" = 1 ] && echo ok || echo MISS)" "$5" >> "$checks"
}
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

start_all=$(date +%s)
echo "bench: redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'), $(nproc) cores, service THREADS=$loops (event loops), webdis $threads threads, wrk -t$wrk_threads -c$side_conns (-c$conns in probes, expiry, RSS), ${run_s} s a run, $rounds rounds; load average $(cut -d' ' -f1-3 /proc/loadavg), ${busy_before}% busy" >&2

# ---- data, through the API; and Redis memory per client ----
start_service unix
mem0=$(( $(used_memory) - $(streams_memory) ))
"$tools/httpseq" "$hport" clients cam- 0 "$nclients" > /dev/null
mem1=$(( $(used_memory) - $(streams_memory) ))
"$tools/httpseq" "$hport" frames cam- 0 "$nclients" "$frame" > /dev/null
ev2=$(streams_memory)
mem2=$(( $(used_memory) - ev2 ))
"$tools/httpseq" "$hport" presence user- 0 "$nusers" > /dev/null
per_client=$(( (mem2 - mem0) / nclients ))
mem_ratio=$(awk -v a="$per_client" -v f="$frame" 'BEGIN { printf "%.3f", a / f }')
# what a client costs: its own keys and index entries; the event streams it
# was announced on are a bounded ring shared by all (reported beside)
check "Redis memory per client with a ${frame}-byte frame" "$per_client B = ${mem_ratio} x frame" \
  "<= 1.05 x frame" "$(le "$mem_ratio" 1.05 && echo 1 || echo 0)" \
  "client alone $(( (mem1 - mem0) / nclients )) B, frame hash $(( (mem2 - mem1) / nclients )) B (INFO memory used_memory before and after, less the event streams); the event streams meanwhile: $(( ev2 / nclients )) B per client's two events, at most EVENTS_RETAIN_PER_BUCKET entries per bucket"

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

# ---- the peers' URLs: the keys the service wrote, named by its own key builder ----
# redisbench links store/keys.c and prints each id's key names; they are
# checked against what the service actually wrote (SCAN) before any run.
ids_file="$tmp/ids"
seq -f "cam-%05g" 0 $((nclients - 1)) > "$ids_file"
"$tools/redisbench" keys client cam- 0 "$nclients" > "$tmp/client.keys"
"$tools/redisbench" keys image cam- 0 "$nclients" > "$tmp/image.keys"
"$tools/redisbench" keys lastseen cam- 0 "$nclients" > "$tmp/lastseen.keys"
check_keys() { # the derived names of a few ids are among the keys Redis holds for them
  local i id k found
  for i in 0 4242 $((nclients - 1)); do
    id=$(sed -n "$((i + 1))p" "$ids_file")
    found=$(rcli --scan --pattern "*$id*")
    for k in "$(sed -n "$((i + 1))p" "$tmp/client.keys")" "$(sed -n "$((i + 1))p" "$tmp/image.keys")"; do
      grep -qxF -- "$k" <<< "$found" || {
        echo "bench: the key builder names $id's data \"$k\", but Redis holds only: $found" >&2; exit 1; }
    done
  done
}
check_keys
urlenc() { # stdin -> each line percent-encoded but for [A-Za-z0-9._~:-]
  awk 'BEGIN { for (i = 0; i < 256; i++) ord[sprintf("%c", i)] = i }
    { out = ""
      for (i = 1; i <= length($0); i++) {
        ch = substr($0, i, 1)
        out = out (ch ~ /[A-Za-z0-9._~:-]/ ? ch : sprintf("%%%02X", ord[ch]))
      }
      print out }'
}
sed 's|^|/clients/|; s|$|/heartbeat|' "$ids_file" > "$tmp/svc-heartbeat.paths"
sed 's|^|/clients/|' "$ids_file" > "$tmp/svc-client.paths"
sed 's|^|/clients/|; s|$|/image|' "$ids_file" > "$tmp/svc-image.paths"
# a heartbeat is one plain command in the service too (store/clients.c): the
# client's score in its bucket's last-seen index, for an existing client only.
# A heartbeat moves the score to now, so Webdis's must change it too: each
# client's URL comes with 16 different scores (wrk formats its requests once,
# at start, and picks one at random), so 15 of 16 Webdis heartbeats move the
# entry as every service heartbeat does. (With one fixed score, every
# Webdis ZADD after the first pass changed nothing: no write, less Redis CPU.)
stamp_ms=$(date +%s%3N)
urlenc < "$tmp/lastseen.keys" | paste -d/ - "$ids_file" |
  awk -v t="$stamp_ms" '{ n = split($0, p, "/"); id = p[n]; key = substr($0, 1, length($0) - length(id) - 1)
    for (j = 0; j < 16; j++) printf "/ZADD/%s/XX/CH/%.0f/%s\n", key, t + j, id }' > "$tmp/wd-heartbeat.paths"
urlenc < "$tmp/client.keys" | sed 's|^|/HGETALL/|' > "$tmp/wd-client.paths"
urlenc < "$tmp/image.keys" | sed 's|^|/HGET/|; s|$|/data.jpg|' > "$tmp/wd-image.paths"
echo /livez > "$tmp/livez.paths"
echo /PING > "$tmp/wd-ping.paths"
echo "/online-users?limit=$nusers" > "$tmp/svc-online.paths"
echo /redis/stats > "$tmp/svc-stats.paths"

# ---- the peers: webdis on the mode's Redis, nginx serving /livez from a file ----
wport=$(free_port)
nport=$(free_port)
# webdis gets two threads per core (what the service's worker pool had before
# its event loops, one per core; on 2 cores that is also webdis's built-in
# default, 4) and BENCH_WEBDIS_POOL Redis connections
# per thread (1: as many connections as the service has, each carrying all of
# its thread's commands, the pipelining webdis is built around; its built-in 2
# measured no different here).
start_webdis() { # redis-host redis-port
  stop_webdis
  cat > "$tmp/webdis.json" <<EOF
{
  "redis_host": "$1", "redis_port": $2, "redis_auth": null,
  "http_host": "127.0.0.1", "http_port": $wport,
  "threads": $threads, "pool_size": $webdis_pool,
  "daemonize": false, "database": 0, "websockets": false,
  "verbosity": 1, "logfile": "$tmp/webdis.log"
}
EOF
  webdis "$tmp/webdis.json" >> "$tmp/webdis.out" 2>&1 &
  wdpid=$!
  wait_for curl -sf "http://127.0.0.1:$wport/PING" ||
    { echo "bench: webdis did not start; its log:" >&2; tail -5 "$tmp/webdis.log" "$tmp/webdis.out" >&2; exit 1; }
}
stop_webdis() {
  [ -n "$wdpid" ] || return 0
  kill -TERM "$wdpid" 2> /dev/null || true
  wait "$wdpid" 2> /dev/null || true
  wdpid=""
}
start_nginx() {
  [ -f "$tmp/nginx.pid" ] && return 0
  # nginx started as root runs its workers as www-data (nobody): they must
  # reach the file, or every answer is a 403 and the yardstick measures those
  chmod a+x "$tmp"
  mkdir -p -m 755 "$tmp/www"
  printf '{"status":"pass"}' > "$tmp/www/livez"
  chmod 644 "$tmp/www/livez"
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
  wait_for curl -sf "http://127.0.0.1:$nport/livez" || { echo "bench: nginx did not start" >&2; exit 1; }
}
nginx_pids() { # the master and its workers
  local m
  m=$(cat "$tmp/nginx.pid")
  echo "$m"
  awk -v m="$m" '$4 == m { print $1 }' /proc/[0-9]*/stat 2> /dev/null || true
}
# Both peers serve what the service serves: the same frame bytes, the same hashes.
check_peers() {
  local i=4242 ck ik
  ck=$(sed -n "$((i + 1))p" "$tmp/wd-client.paths" | sed 's|^/HGETALL/||')
  ik=$(sed -n "$((i + 1))p" "$tmp/wd-image.paths" | sed 's|^/HGET/||; s|/data.jpg$||')
  curl -sf -o "$tmp/svc.jpg" "$base/clients/cam-04242/image"
  curl -sf -o "$tmp/wd.jpg" "http://127.0.0.1:$wport/HGET/$ik/data.jpg"
  cmp -s "$tmp/svc.jpg" "$tmp/wd.jpg" && [ "$(stat -c %s "$tmp/wd.jpg")" = "$frame" ] ||
    { echo "bench: webdis's frame of cam-04242 is not the service's" >&2; exit 1; }
  curl -sf "http://127.0.0.1:$wport/HGETALL/$ck" | grep -q '"connected_at"' ||
    { echo "bench: webdis does not see cam-04242's client hash" >&2; exit 1; }
  # ZADD XX CH answers 1 only for a member that was there and whose score it
  # changed: it updated the service's entry, created none
  local lk hid
  lk=$(sed -n "$((i + 1))p" "$tmp/lastseen.keys" | urlenc)
  hid=$(sed -n "$((i + 1))p" "$ids_file")
  curl -sf "http://127.0.0.1:$wport/ZADD/$lk/XX/CH/$(date +%s%3N)/$hid" | grep -q '{"ZADD":1}' ||
    { echo "bench: webdis's ZADD did not update the service's last-seen entry" >&2; exit 1; }
  [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$base/clients/cam-04242/heartbeat")" = 204 ] ||
    { echo "bench: the service's heartbeat of cam-04242 failed" >&2; exit 1; }
}

# ---- the Redis set-ups (modes) the side-by-side sections run against ----
# mode_NAME sets: mode_url (the service's REDIS_URL), mode_rb (redisbench's
# connection flags, "" for no limit rows), mode_wd (webdis's redis_host and
# redis_port, "" for no webdis), redis_pids and redis_nodes (whose CPU and
# INFO count).
mode_tcp() {
  mode_url="redis://127.0.0.1:$rport/0"
  mode_rb="-p $rport"
  mode_wd="127.0.0.1 $rport"
  redis_pids=("$rpid")
  redis_nodes=("-s $sock")
}
mode_unix() {
  mode_url="unix://$sock"
  mode_rb="-s $sock"
  mode_wd="$sock 0" # a redis_host starting with / is a unix socket to webdis
  redis_pids=("$rpid")
  redis_nodes=("-s $sock")
}
# A Redis Cluster of three masters on loopback (scripts/redis-cluster.sh),
# loaded once with the same data set through the service. Neither webdis nor
# the limit's driver speaks to a cluster: its rows are the service's alone,
# compared with the service's over tcp (the routing's cost).
mode_cluster() {
  if [ -z "$cluster_dir" ]; then
    cluster_dir="$tmp/cluster"
    cluster_url=$(scripts/redis-cluster.sh start "$cluster_dir" 3 0 | sed -n 's/^REDIS_URL=//p')
    [ -n "$cluster_url" ] || { echo "bench: the Redis Cluster did not start" >&2; exit 1; }
    echo "bench: loading the data set into the cluster ($cluster_url)" >&2
    start_service "$cluster_url"
    "$tools/httpseq" "$hport" clients cam- 0 "$nclients" > /dev/null
    "$tools/httpseq" "$hport" frames cam- 0 "$nclients" "$frame" > /dev/null
    "$tools/httpseq" "$hport" presence user- 0 "$nusers" > /dev/null
  fi
  mode_url=$cluster_url
  mode_rb=""
  mode_wd=""
  local f
  redis_pids=() redis_nodes=()
  for f in "$cluster_dir"/*/redis.pid; do
    redis_pids+=("$(cat "$f")")
    redis_nodes+=("-p $(basename "$(dirname "$f")")")
  done
}

# The scenarios: what the service serves, what each peer serves for the same
# answer, and the limit (redisbench's scenario; bench/README.md defines each).
scenario_def() { # name -> s_title s_method s_svc (paths file or lua:NAME) s_wd s_wd_title s_nginx s_limit s_half
  s_wd="" s_wd_title="" s_nginx="" s_limit="" s_half=0 s_method=GET
  case $1 in
    livez) s_title="GET /livez"; s_svc=$tmp/livez.paths; s_nginx=$tmp/livez.paths
      s_wd=$tmp/wd-ping.paths; s_wd_title="webdis /PING" ;;
    heartbeat) s_title="POST /clients/{id}/heartbeat"; s_method=POST; s_svc=$tmp/svc-heartbeat.paths
      s_wd=$tmp/wd-heartbeat.paths; s_wd_title="webdis /ZADD/last_seen XX CH"; s_limit=heartbeat; s_half=1 ;;
    client) s_title="GET /clients/{id}"; s_svc=$tmp/svc-client.paths
      s_wd=$tmp/wd-client.paths; s_wd_title="webdis /HGETALL/client"; s_limit=client; s_half=1 ;;
    image) s_title="GET /clients/{id}/image (40 kB)"; s_svc=$tmp/svc-image.paths
      s_wd=$tmp/wd-image.paths; s_wd_title="webdis /HGET/image/data.jpg"; s_limit=image; s_half=1 ;;
    put) s_title="PUT /clients/{id}/image (40 kB)"; s_method=PUT; s_svc=lua:put; s_limit=put ;;
    online) s_title="GET /online-users?limit=$nusers"; s_svc=$tmp/svc-online.paths; s_limit="-l $nusers presence" ;;
    stats) s_title="GET /redis/stats"; s_svc=$tmp/svc-stats.paths; s_limit=stats ;;
    *) echo "bench: no scenario $1" >&2; exit 1 ;;
  esac
}
wrk_at() { # port method paths-or-lua:NAME [seconds]
  local lua=paths
  case $3 in lua:*) lua=${3#lua:} ;; esac
  env BENCH_PATHS="$3" BENCH_METHOD="$2" \
    wrk -t"$wrk_threads" -c"$side_conns" -d"${4:-$round_s}s" -s "bench/lua/$lua.lua" "http://127.0.0.1:$1"
}
limit_at() { # depth scenario [flags]: the service's connection count, DEPTH requests in flight each
  local d=$1
  shift
  # shellcheck disable=SC2086
  "$tools/redisbench" $mode_rb -c "$threads" -d "$d" -t "$limit_s" -n "$nclients" -z "$frame" "$@"
}
median_round() { # ratios... -> the index of the median one
  local i=0 r
  for r in "$@"; do echo "$r $i"; i=$((i + 1)); done | sort -n |
    awk -v m=$(($# / 2)) 'NR == m + 1 { print $2 }'
}
declare -A livez_us # mode -> the service's CPU us per /livez in it
declare -A svc_us   # mode/scenario -> the service's CPU us per request
declare -A svc_rps  # mode/scenario -> its req/s

# ROUNDS times each side of the scenario (the service, its peers, its limit
# with one request and with DEPTH in flight per connection), alternated, so
# that a burst of other load on the machine lowers one round, not the verdict:
# the row and the ratios are the round with the median ratio against the peer
# (webdis; for /livez nginx; without a peer, the limit).
bench_scenario() { # mode name
  local mode=$1 name=$2 k out wd ng l1 lp half=""
  scenario_def "$name"
  [ -n "$wdpid" ] || s_wd="" # a set-up webdis cannot speak to
  [ -n "$mode_rb" ] || s_limit="" # nor the driver
  local outs=() wds=() ngs=() l1s=() lps=() ratios=()
  for (( k = 0; k < rounds; k++ )); do
    outs[k]=$(measure "$svc" -- wrk_at "$hport" "$s_method" "$s_svc")
    [ -z "$s_wd" ] || wds[k]=$(measure "$wdpid" -- wrk_at "$wport" GET "$s_wd") # the command is in the URL
    # shellcheck disable=SC2046
    [ -z "$s_nginx" ] || ngs[k]=$(measure $(nginx_pids) -- wrk_at "$nport" GET "$s_nginx")
    # shellcheck disable=SC2086
    [ -z "$s_limit" ] || l1s[k]=$(measure -- limit_at 1 $s_limit)
    # shellcheck disable=SC2086
    [ -z "$s_limit" ] || lps[k]=$(measure -- limit_at "$depth" $s_limit)
    local peer=${ngs[k]:-${wds[k]:-${l1s[k]:-}}}
    if [ -n "$peer" ]; then
      ratios[k]=$(div "$(jget rps "${outs[k]}")" "$(jget rps "$peer")")
    else # no peer in this set-up: the median round of the service's own
      ratios[k]=$(jget rps "${outs[k]}")
    fi
  done
  k=$(median_round "${ratios[@]}")
  out=${outs[k]} wd=${wds[k]:-} ng=${ngs[k]:-} l1=${l1s[k]:-} lp=${lps[k]:-}
  if [ "$s_half" = 1 ]; then # open loop at half the service's peak
    local rate
    rate=$(awk -v r="$(jget rps "$out")" 'BEGIN { printf "%d", r / 2 }')
    half=$(measure "$svc" -- "$tools/httpseq" "$hport" load "$s_method" "$s_svc" "$rate" "$round_s" "$side_conns")
  fi
  row "$s_title" "$mode" "$out" "$wd" "$ng" "$l1" "$lp" "$half"
  scenario_checks "$mode" "$name" "$out" "$wd" "$ng" "$l1" "$half" "${ratios[*]}"
}

# The targets of bench/README.md, from the median round.
scenario_checks() { # mode name rtstate webdis nginx limit half-peak rounds
  local mode=$1 name=$2 out=$3 wd=$4 ng=$5 l1=$6 half=$7 all=$8 r t="$s_title [$mode]"
  local costs="CPU us per request: service $(jget server_us "$out") + redis $(jget redis_us "$out") + wrk $(jget client_us "$out") (other processes $(jget other_us "$out"))"
  svc_us[$mode/$name]=$(jget server_us "$out")
  svc_rps[$mode/$name]=$(jget rps "$out")
  [ "$mode" != cluster ] || cluster_checks "$name" "$out" "$t" "$all"
  if [ "$name" = livez ]; then
    livez_us[$mode]=$(jget server_us "$out")
    r=$(div "$(jget rps "$out")" "$(jget rps "$ng")")
    check "/livez vs nginx static file [$mode]" "$r x" ">= 1.00 x" "$(le 1.00 "$r" && echo 1 || echo 0)" \
      "rounds: $all; nginx $(jget rps "$ng") req/s ($(jget server_us "$ng") us CPU), webdis /PING $(jget rps "$wd") req/s ($(jget server_us "$wd") us + redis $(jget redis_us "$wd") us); $costs"
    return
  fi
  if [ -n "$wd" ]; then
    r=$(div "$(jget rps "$out")" "$(jget rps "$wd")")
    check "$t vs ${s_wd_title}" "$r x" ">= 1.20 x" "$(le 1.20 "$r" && echo 1 || echo 0)" \
      "rounds: $all; webdis $(jget rps "$wd") req/s, CPU us per request: webdis $(jget server_us "$wd") + redis $(jget redis_us "$wd") + wrk $(jget client_us "$wd") (other processes $(jget other_us "$wd")); $costs"
    local rr=$(jget redis_us "$out") rw=$(jget redis_us "$wd")
    [ "$name" = image ] || check "$t: Redis CPU per request" "$rr us" "<= webdis's $rw us" \
      "$(le "$rr" "$rw" && echo 1 || echo 0)" \
      "Redis calls per request: $(jget redis_calls "$out" | tr -d '"') (webdis: $(jget redis_calls "$wd" | tr -d '"'))"
    local reads=$(jget redis_reads "$out")
    check "$t: round trips shared" "$reads Redis reads per request" "< 1" \
      "$(le "$reads" 0.999 && echo 1 || echo 0)" \
      "$(jget redis_cmds "$out") commands per request ($(jget redis_calls "$out" | tr -d '"')), Redis $rr us per request; webdis: $(jget redis_reads "$wd") reads, $(jget redis_cmds "$wd") commands"
    if [ -n "${livez_us[$mode]:-}" ]; then
      r=$(div "$(jget server_us "$out")" "${livez_us[$mode]}")
      check "$t: service CPU vs its /livez" "$r x" "<= 1.50 x" "$(le "$r" 1.50 && echo 1 || echo 0)" \
        "$(jget server_us "$out") us against ${livez_us[$mode]} us per /livez"
    fi
  fi
  if [ -n "$half" ]; then
    check "$t: p99 at half the peak (open loop)" "$(jget p99_ms "$half") ms at $(jget rps "$half") req/s" "<= 2 ms" \
      "$(le "$(jget p99_ms "$half")" 2 && echo 1 || echo 0)" \
      "$side_conns connections, p50 $(jget p50_ms "$half") ms, p99.9 $(jget p999_ms "$half") ms, errors $(jget errors "$half"); service $(jget server_us "$half") us, redis $(jget redis_us "$half") us, $(jget redis_reads "$half") Redis reads per request"
  fi
  if [ -n "$l1" ]; then
    r=$(div "$(jget rps "$out")" "$(jget rps "$l1")")
    check "$t vs its limit" "$r of $(jget rps "$l1")/s" ">= 0.70" "$(le 0.70 "$r" && echo 1 || echo 0)" \
      "limit: redis $(jget redis_us "$l1") us + driver $(jget client_us "$l1") us per request, $(jget redis_calls "$l1" | tr -d '"'); $costs"
  fi
}

# The cluster against standalone (the tcp mode's row of the same scenario):
# the service's CPU per request, which is what routing by slot adds. One key,
# one slot: within 10 %. Endpoints that read every bucket talk to every
# master instead of one server (three sockets written and read where there
# was one): shown, no target. /livez does not touch Redis.
cluster_checks() { # name rtstate title rounds
  local name=$1 out=$2 t=$3 base=${svc_us[tcp/$1]:-} r
  [ -n "$base" ] && [ "$name" != livez ] || return 0
  r=$(div "$(jget server_us "$out")" "$base")
  local detail="rounds: $4; service $(jget server_us "$out") us per request against $base us over tcp; $(jget rps "$out") req/s against ${svc_rps[tcp/$name]} (on $(nproc) cores the nodes share the cores the service and wrk use: throughput cannot grow with nodes); Redis calls per request: $(jget redis_calls "$out" | tr -d '"')"
  case $name in
    online | stats)
      printf '%s\t%s\t%s\t%s\t%s\n' "$t: service CPU vs standalone" "$r x" \
        "none: it reads every master" info "$detail" >> "$checks" ;;
    *) check "$t: service CPU vs standalone (routing)" "$r x" "<= 1.10 x" \
      "$(le "$r" 1.10 && echo 1 || echo 0)" "$detail" ;;
  esac
}

# Every scenario against one Redis set-up: the service, webdis and nginx
# started on it, checked to serve the same data, warmed up, then measured.
bench_mode() { # mode scenario...
  local mode=$1 name
  shift
  "mode_$mode"
  echo "bench: side by side, Redis over $mode: $*" >&2
  start_service "$mode_url"
  start_nginx
  if [ -n "$mode_wd" ]; then
    # shellcheck disable=SC2086
    start_webdis $mode_wd
    check_peers
    wrk_at "$wport" GET "$tmp/wd-image.paths" 1 > /dev/null
  fi
  wrk_at "$hport" POST "$tmp/svc-heartbeat.paths" 1 > /dev/null
  wrk_at "$hport" GET "$tmp/svc-image.paths" 1 > /dev/null
  for name in "$@"; do bench_scenario "$mode" "$name"; done
  stop_webdis
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
    "POST /admin/cleanup x50 (HTTP round trip included), $(clients_registered) clients registered"
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
    keys_before=$(rcli dbsize)
    "$tools/redisbench" -s "$sock" -a $((timeout - 1000)) load-clients "doomed$k-" 0 10000 > /dev/null
    wrk -t"$wrk_threads" -c"$conns" -d"${run_s}s" -s bench/lua/heartbeat.lua "$base" > "$tmp/during.out" &
    w=$!
    pids+=("$w")
    # one redis-cli polling every 20 ms (a process per poll would load the
    # machine): DBSIZE, O(1), is back to what it was (give or take the
    # buckets' counters that the first removals create) once every doomed
    # client's hash is gone
    gone=$(rcli -r 400 -i 0.02 dbsize | while read -r n; do
      if [ "$n" -le $(( keys_before + 50 )) ]; then now_ms; break; fi
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

# ---- the event stream: idle subscribers' memory, fan-out latency ----
section_events() {
  echo "bench: events: 10 000 idle /events subscribers, then fan-out to 1 000" >&2
  rcli flushall > /dev/null
  ulimit -n 65536 2> /dev/null || ulimit -n "$(ulimit -Hn)"
  start_service unix MAX_CONNECTIONS=12000 MAX_CONNECTIONS_PER_IP=0
  local n=${BENCH_SUBSCRIBERS:-10000} out
  out=$("$tools/sseclients" hold "$hport" "$n" "$svc")
  echo "events: $out" >&2
  row "GET /events: $n idle subscribers (RSS)" unix "$out" "" ""
  check "memory per idle /events subscriber ($n)" "$(jget bytes_per_subscriber "$out") B" "< 10240 B" \
    "$(le "$(jget bytes_per_subscriber "$out")" 10239 && echo 1 || echo 0)" \
    "service RSS $(jget rss_before_kb "$out") -> $(jget rss_after_kb "$out") kB with $n streams open (MAX_HEADER_BYTES default)"
  out=$("$tools/sseclients" fanout "$hport" 1000 "${BENCH_FANOUT_EVENTS:-200}")
  echo "events: $out" >&2
  row "POST -> delivered at all 1 000 subscribers" unix "$out" "" ""
  check "fan-out latency, a write to all of 1 000 subscribers" "p50 $(jget p50_ms "$out") ms, p99 $(jget p99_ms "$out") ms" \
    "p99 <= 50 ms" "$(le "$(jget p99_ms "$out")" 50 && echo 1 || echo 0)" \
    "POST /users/fanout/notifications, then every subscriber of notifications:fanout has it; max $(jget max_ms "$out") ms"
  stop_service
}

selected() { [ -z "${BENCH_ONLY:-}" ] || [[ " $BENCH_ONLY " == *" $1 "* ]]; }
side=() # the side-by-side scenarios, run in every mode
if selected livez; then side+=(livez); fi
if selected endpoints; then side+=(heartbeat client image put online stats); fi
if [ -n "${BENCH_SCENARIOS:-}" ]; then read -r -a side <<< "$BENCH_SCENARIOS"; fi
if [ ${#side[@]} -gt 0 ]; then
  for mode in $modes; do bench_mode "$mode" "${side[@]}"; done
  mode_unix # the other sections: the service over the unix socket
  start_service unix
  if [ -n "$cluster_dir" ]; then # done with: its memory and its nodes' chatter go
    scripts/redis-cluster.sh stop "$cluster_dir"
    cluster_dir=""
    # what routing costs in instructions, which no other process's load blurs
    echo "bench: the guard's request sequence, one server against a cluster (callgrind)" >&2
    RTSTATE_BIN=$bin bench/guard.sh --cluster > "$tmp/guard-cluster.txt" 2>&1 || true
  fi
fi
for section in probes cleanup expiry rss events; do
  if selected "$section"; then "section_$section"; fi
done

busy_after=$(busy_pct)
elapsed=$(( $(date +%s) - start_all ))

# ---- the table, and latest.json ----
table=$(awk -F'\t' -v depth="$depth" '
  function j(s, k,   m) { if (match(s, "\"" k "\": [^,}]*")) { m = substr(s, RSTART, RLENGTH); sub(/^[^:]*: /, "", m); return m } return "" }
  function f(v, fmt) { return v == "" ? "-" : sprintf(fmt, v) }
  function line(who, o, rps0,   rps) {
    rps = j(o, "rps")
    printf "  %-32s %8s %7s %7s %7s %6s %7s %7s %7s %7s %6s %6s %9s\n", who, f(rps, "%.0f"),
      f(j(o, "p50_ms"), "%.3f"), f(j(o, "p99_ms"), "%.3f"), f(j(o, "p999_ms"), "%.3f"), f(j(o, "errors"), "%d"),
      f(j(o, "server_us"), "%.1f"), f(j(o, "redis_us"), "%.1f"), f(j(o, "client_us"), "%.1f"), f(j(o, "other_us"), "%.1f"),
      f(j(o, "redis_cmds"), "%.2f"), f(j(o, "redis_reads"), "%.2f"),
      (rps0 != "" && rps > 0) ? sprintf("%.2f", rps0 / rps) : "-"
  }
  BEGIN {
    printf "  %-32s %8s %7s %7s %7s %6s %7s %7s %7s %7s %6s %6s %9s\n", "scenario [redis] / who", "req/s", "p50 ms", "p99 ms", "p99.9", "errors", "srv us", "rds us", "gen us", "oth us", "cmd/rq", "rd/rq", "rtstate x"
  }
  {
    print $1 " [" $2 "]"
    rps0 = j($3, "rps")
    line("rtstate", $3, "")
    if ($4 != "") line("webdis", $4, rps0)
    if ($5 != "") line("nginx (static file)", $5, rps0)
    if ($6 != "") line("limit, 1 request in flight", $6, rps0)
    if ($7 != "") line("limit, " depth " in flight", $7, rps0)
    if ($8 != "") line(sprintf("rtstate, open loop at %d/s", j($8, "rps") + 0.5), $8, "")
  }' <(awk -F'\t' '!($1 in at) { at[$1] = ++n } { print at[$1] "\t" NR "\t" $0 }' "$rows" |
         sort -t$'\t' -k1,1n -k2,2n | cut -f3-))
echo
echo "$table"
echo
echo "rtstate x: the service's req/s over that row's. limit: the cheapest plain Redis commands that give the
endpoint's answer (bench/README.md), run by bench/redisbench over the service's $threads connections with one
request's commands in flight on each, and with $depth. webdis: $threads threads, $webdis_pool Redis connection(s)
each, the same keys. srv, rds, gen us: CPU time per request of the HTTP server (the service, webdis or nginx),
redis-server and the load generator (wrk, httpseq or the driver), which share the $(nproc) cores; oth us: the
CPU every other process spent meanwhile, per request (other sessions' load: it lowers that line). cmd/rq,
rd/rq: Redis's commands and reads (INFO stats) per request; a read under 1 means requests shared one."
echo
awk -F'\t' '{ printf "%-5s %-58s %-34s target %s\n      %s\n", $4, $1, $2, $3, $5 }' "$checks"
if [ -s "$tmp/guard-cluster.txt" ]; then
  echo
  cat "$tmp/guard-cluster.txt"
fi
echo
echo "bench: ${elapsed} s; the machine was ${busy_before}% busy before and ${busy_after}% after, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end (other processes lower every figure)"

mkdir -p bench/results
out_json=bench/results/latest.json
[ -z "${BENCH_ONLY:-}" ] || out_json=bench/results/partial.json # a part never replaces a full run
awk -F'\t' -v rowsfile="$rows" -v threads="$threads" -v depth="$depth" -v conns="$side_conns" -v conns2="$conns" \
  -v cores="$(nproc)" -v date="$(date -u +%Y-%m-%dT%H:%M:%SZ)" -v elapsed="$elapsed" \
  -v busy0="$busy_before" -v busy1="$busy_after" -v commit="$(git rev-parse --short HEAD 2> /dev/null || echo unknown)" \
  -v modes="$modes" -v pool="$webdis_pool" -v rounds="$rounds" -v secs="$round_s" '
  function q(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return "\"" s "\"" }
  function obj(s) { return s == "" ? "null" : s }
  BEGIN {
    printf "{\n  \"date\": %s, \"commit\": %s, \"cores\": %d, \"seconds\": %d,\n", q(date), q(commit), cores, elapsed
    printf "  \"machine_busy_pct\": {\"before\": %d, \"after\": %d},\n", busy0, busy1
    printf "  \"service_threads\": %d, \"wrk_connections\": %d, \"wrk_connections_other\": %d, \"pipeline_depth\": %d, \"rounds\": %d, \"run_seconds\": %d,\n", threads, conns, conns2, depth, rounds, secs
    printf "  \"modes\": %s, \"webdis\": {\"threads\": %d, \"pool_size\": %d},\n  \"scenarios\": [\n", q(modes), threads, pool
    n = 0
    while ((getline line < rowsfile) > 0) {
      split(line, f, "\t")
      printf "%s    {\"scenario\": %s, \"redis\": %s, \"http\": %s, \"webdis\": %s, \"nginx\": %s, \"limit\": %s, \"pipelined\": %s, \"half_peak\": %s}", (n++ > 0) ? ",\n" : "", q(f[1]), q(f[2]), f[3], obj(f[4]), obj(f[5]), obj(f[6]), obj(f[7]), obj(f[8])
    }
    printf "\n  ],\n  \"targets\": [\n"
  }
  { printf "%s    {\"target\": %s, \"measured\": %s, \"goal\": %s, \"ok\": %s, \"detail\": %s}", (NR > 1) ? ",\n" : "", q($1), q($2), q($3), $4 == "ok" ? "true" : $4 == "info" ? "null" : "false", q($5) }
  END { printf "\n  ]\n}\n" }' "$checks" > "$out_json"
echo "bench: wrote $out_json"
