# shellcheck shell=bash
# What the browser tests (dashboard.sh, cors.sh) share: verdicts and the
# closing count, a temp dir cleaned up at exit, a throwaway redis-server, the
# service on a free loopback port, and one headless Chromium run. Sourced
# from the repository's root by a script that has set -uo pipefail.

bin=${RTSTATE_BIN:-build/rtstate}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
py=python3

passed=0 failed=0
ok() { echo "ok    $1"; passed=$((passed + 1)); }
bad() { echo "FAIL  $1"; failed=$((failed + 1)); }
check() { # check "what" command...: one test
  local what=$1
  shift
  if "$@"; then ok "$what"; else bad "$what"; fi
}
verdicts() { # reads "ok|bad <what>" lines, each a test; PREFIX is put before each
  local verdict what
  while read -r verdict what; do
    if [ "$verdict" = ok ]; then ok "${PREFIX:-}$what"; else bad "${PREFIX:-}$what"; fi
  done
}
finish() { echo; echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit; }

command -v chromium > /dev/null || { bad "chromium is installed (scripts/deps.sh browser)"; finish; }
[ -x "$bin" ] || { bad "service binary $bin exists"; finish; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rtstate-browser-XXXXXX")
export TMPDIR=$tmp # Chromium's profiles and anything else land in it
pids=()
stop() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2> /dev/null; done
  wait 2> /dev/null
  [ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"
}
trap stop EXIT

h() { "$py" tests/browser/dashboard.py "$@"; }

rport=$(h free_port)
redis-server --port "$rport" --bind 127.0.0.1 --dir "$tmp" --save '' --appendonly no \
  > "$tmp/redis.log" 2>&1 &
pids+=($!)

# service NAME ENV...: starts the service with those settings on a free port,
# its log in $tmp/NAME.log, and sets $base to it
service() {
  local name=$1 port try
  shift
  for try in 1 2 3; do # a free port may be taken by another program before we bind it
    port=$(h free_port)
    base=http://127.0.0.1:$port
    env PORT="$port" BIND=127.0.0.1 REDIS_URL="redis://127.0.0.1:$rport/0" THREADS=4 \
      "$@" "$bin" > "$tmp/$name.log" 2>&1 &
    pids+=($!)
    h wait_http "$base/livez" && h wait_http "$base/readyz" && return
    grep -q "cannot start the HTTP server" "$tmp/$name.log" || break
  done
  tail -n 20 "$tmp/$name.log" "$tmp/redis.log"
  bad "the service ($name) becomes ready"
  finish
}

chrome() { # chrome ARGS... URL: one fresh, private, loopback-only headless run
  local profile
  profile=$(mktemp -d "$tmp/profile-XXXXXX")
  HOME=$tmp XDG_CONFIG_HOME=$tmp/xdg XDG_CACHE_HOME=$tmp/xdg timeout 90 chromium --headless \
    --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --disable-default-apps --mute-audio \
    --disable-dev-shm-usage \
    --user-data-dir="$profile" --enable-logging=stderr --v=0 --virtual-time-budget=8000 "$@"
}
