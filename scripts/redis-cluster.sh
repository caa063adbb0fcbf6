#!/usr/bin/env bash
# A throwaway Redis Cluster on loopback, for trying the service (or a
# benchmark) against one by hand:
#   scripts/redis-cluster.sh start DIR [MASTERS [REPLICAS]]   (default 3 masters, 0 replicas)
#   scripts/redis-cluster.sh stop DIR
# start makes DIR/<port>/ for each node (redis-server daemonized there, its
# nodes.conf and log), joins them with redis-cli --cluster create, waits for
# cluster_state:ok, and prints the REDIS_URL listing every node. Nodes run
# with a 1 s node timeout and cluster-require-full-coverage no (a master
# that is down costs only its own slots). stop shuts every node of DIR down.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/ports.sh
. "$root/scripts/ports.sh"

usage() { echo "usage: $0 start DIR [MASTERS [REPLICAS]] | stop DIR" >&2; exit 2; }
[ $# -ge 2 ] || usage
cmd=$1 dir=$2

stop() {
  for conf in "$dir"/*/nodes.conf; do
    [ -e "$conf" ] || continue
    port=$(basename "$(dirname "$conf")")
    redis-cli -p "$port" shutdown nosave > /dev/null 2>&1 || true
  done
}

case "$cmd" in
  stop) stop; exit 0 ;;
  start) ;;
  *) usage ;;
esac

masters=${3:-3} replicas=${4:-0}
n=$((masters * (1 + replicas)))
mkdir -p "$dir"
addrs=() url=""
while [ ${#addrs[@]} -lt "$n" ]; do
  p=$(free_port)
  # the cluster bus listens on port + 10000: it must be free too
  grep -qi ":$(printf '%04X' $((p + 10000))) " /proc/net/tcp /proc/net/tcp6 2> /dev/null && continue
  [ -e "$dir/$p" ] && continue
  mkdir -p "$dir/$p"
  redis-server --port "$p" --bind 127.0.0.1 --dir "$dir/$p" --daemonize yes \
    --logfile "$dir/$p/redis.log" --pidfile "$dir/$p/redis.pid" --save "" --appendonly no \
    --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 1000 \
    --cluster-require-full-coverage no
  addrs+=("127.0.0.1:$p")
  url="$url${url:+,}127.0.0.1:$p"
done
for a in "${addrs[@]}"; do
  for _ in $(seq 50); do redis-cli -p "${a#*:}" ping > /dev/null 2>&1 && break; sleep 0.1; done
done
redis-cli --cluster create "${addrs[@]}" --cluster-replicas "$replicas" --cluster-yes \
  > "$dir/create.log" 2>&1 || { cat "$dir/create.log" >&2; stop; exit 1; }
for a in "${addrs[@]}"; do
  for _ in $(seq 100); do
    redis-cli -p "${a#*:}" cluster info 2> /dev/null | grep -q '^cluster_state:ok' && break
    sleep 0.1
  done
done
echo "REDIS_URL=redis://$url"
