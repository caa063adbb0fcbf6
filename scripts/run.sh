#!/usr/bin/env bash
# make run: serves on $PORT (8080). When REDIS_URL is not set, starts a
# private redis-server under ./var/redis first (unix socket) and stops it
# again when the service stops; Ctrl-C stops both.
set -euo pipefail
bin=${1:?usage: run.sh path/to/rtstate [flags]}
shift
root=$(cd "$(dirname "$0")/.." && pwd)

redis_pid=""
cleanup() {
  [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
  return 0
}
trap cleanup EXIT

if [ -z "${REDIS_URL:-}" ]; then
  dir="$root/var/redis"
  mkdir -p "$dir"
  sock="$dir/redis.sock"
  if [ ${#sock} -lt 100 ]; then
    listen=(--port 0 --unixsocket "$sock" --unixsocketperm 700)
    ping=(redis-cli -s "$sock" ping)
    export REDIS_URL="unix://$sock"
  else # too long for a unix socket path: a free loopback port instead
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    listen=(--port "$port" --bind 127.0.0.1)
    ping=(redis-cli -p "$port" ping)
    export REDIS_URL="redis://127.0.0.1:$port/0"
  fi
  redis-server --dir "$dir" --save 900 1 --appendonly no --daemonize no \
    --logfile "$dir/redis.log" "${listen[@]}" &
  redis_pid=$!
  for _ in $(seq 50); do
    "${ping[@]}" >/dev/null 2>&1 && break
    sleep 0.1
  done
  echo "private redis-server under var/redis ($REDIS_URL)" >&2
fi

"$bin" "$@" &
svc=$!
trap 'kill -TERM $svc 2>/dev/null' INT TERM
wait $svc || true
wait $svc 2>/dev/null || true
