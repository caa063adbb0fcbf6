#!/usr/bin/env bash
# make run: serves on $PORT (8080). When REDIS_URL is not set, starts a
# private redis-server under ./var/redis (unix socket); when MONGODB_URI is
# not set, a private MongoDB-compatible server under ./var/mongo (see
# scripts/mongo-server.sh). Both keep their data there between runs and stop
# when the service stops; Ctrl-C stops everything. The service listens on
# 127.0.0.1 (its default BIND) unless BIND says otherwise: with no tokens set
# every route is open, so other machines reach it only when asked for, e.g.
#   API_TOKEN=... READ_TOKEN=... ADMIN_TOKEN=... BIND=0.0.0.0 make run
# (tests/integration/test_doors.c runs this script and checks both).
# RUN_DIR puts the private servers' data somewhere else than ./var (the
# README's doc test, tests/doc/readme.sh, starts a fresh instance in a temp
# dir this way); MONGO_SERVER_BIN names the MongoDB-compatible server to use
# instead of asking scripts/mongo-server.sh.
set -euo pipefail
bin=${1:?usage: run.sh path/to/rtstate [flags]}
shift
root=$(cd "$(dirname "$0")/.." && pwd)
var=${RUN_DIR:-$root/var}

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  return 0
}
trap cleanup EXIT

# shellcheck source=scripts/ports.sh
. "$root/scripts/ports.sh"

# Waits up to 5 s for a command to succeed.
wait_for() {
  for _ in $(seq 50); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

if [ -z "${REDIS_URL:-}" ]; then
  dir="$var/redis"
  mkdir -p "$dir"
  sock="$dir/redis.sock"
  if [ ${#sock} -lt 100 ]; then
    listen=(--port 0 --unixsocket "$sock" --unixsocketperm 700)
    ping=(redis-cli -s "$sock" ping)
    export REDIS_URL="unix://$sock"
  else # too long for a unix socket path: a free loopback port instead
    port=$(free_port)
    listen=(--port "$port" --bind 127.0.0.1)
    ping=(redis-cli -p "$port" ping)
    export REDIS_URL="redis://127.0.0.1:$port/0"
  fi
  redis-server --dir "$dir" --save 900 1 --appendonly no --daemonize no \
    --logfile "$dir/redis.log" "${listen[@]}" &
  pids+=($!)
  wait_for "${ping[@]}" || { echo "redis-server did not start; see $dir/redis.log" >&2; exit 1; }
  echo "private redis-server under $dir ($REDIS_URL)" >&2
fi

if [ -z "${MONGODB_URI:-}" ]; then
  server=${MONGO_SERVER_BIN:-$("$root/scripts/mongo-server.sh")}
  dir="$var/mongo"
  mkdir -p "$dir"
  port=$(free_port)
  if [ "$(basename "$server")" = mongod ]; then
    "$server" --port "$port" --bind_ip 127.0.0.1 --dbpath "$dir" --quiet \
      --logpath "$dir/mongod.log" &
  else
    "$server" --handler=sqlite --sqlite-url="file:$dir/" --state-dir="$dir" \
      --listen-addr="127.0.0.1:$port" --debug-addr=- --telemetry=disable \
      --log-level=warn >"$dir/ferretdb.log" 2>&1 &
  fi
  pids+=($!)
  wait_for bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" ||
    { echo "$(basename "$server") did not start; see $dir" >&2; exit 1; }
  export MONGODB_URI="mongodb://127.0.0.1:$port/rtstate"
  echo "private $(basename "$server") under $dir ($MONGODB_URI)" >&2
fi

"$bin" "$@" &
svc=$!
trap 'kill -TERM $svc 2>/dev/null' INT TERM
wait $svc || true
wait $svc 2>/dev/null || true
